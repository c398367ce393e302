// Who the logged-in user is, as the server says now (GET /api/auth/me): the
// role decides which pages and buttons are offered. Until the answer comes,
// the role from the login answer stands in.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api } from "../api/client";
import type { Session } from "../api/session";
import type { WhoAmI } from "../api/types";

export interface Me {
  userId: number | null;
  username: string;
  role: string;
  /** The tenant the dashboard acts in (the user's own unless a platform admin switched). */
  tenantId: number;
  homeTenantId: number;
  totpEnabled: boolean | null;
  /** Asks the server again (after enabling TOTP, say). */
  reload: () => void;
}

const MeContext = createContext<Me | null>(null);

export function MeProvider({ session, actingTenant, children }: { session: Session; actingTenant: number | null; children: ReactNode }) {
  const [who, setWho] = useState<WhoAmI | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    api.me(controller.signal).then(
      (me) => setWho(me),
      () => {
        // A 401 ends the session by itself; other errors (server down) leave
        // the login's role in place and the pages show the error.
      },
    );
    return () => controller.abort();
  }, [session.token, actingTenant, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const value = useMemo<Me>(() => {
    const current = who && who.username === session.username ? who : null;
    return {
      userId: current?.user_id ?? null,
      username: session.username,
      role: current?.role ?? session.role,
      tenantId: current?.tenant_id ?? actingTenant ?? session.tenantId,
      homeTenantId: session.tenantId,
      totpEnabled: current?.totp_enabled ?? null,
      reload,
    };
  }, [who, session, actingTenant, reload]);
  return <MeContext.Provider value={value}>{children}</MeContext.Provider>;
}

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside MeProvider");
  return me;
}
