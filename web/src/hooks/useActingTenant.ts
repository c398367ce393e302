import { useSyncExternalStore } from "react";
import { getActingTenant, subscribeActingTenant } from "../api/tenant";

/** The tenant a platform admin acts in (null: their own); re-renders when it changes. */
export function useActingTenant(): number | null {
  return useSyncExternalStore(subscribeActingTenant, getActingTenant, () => null);
}
