import { useEffect, useRef } from "react";
import { api } from "../api/client";
import { useLiveEvents, useStreamConnected } from "./useLiveEvents";
import { useResource } from "./useResource";

/** How many alarms fire now (the navigation's badge): asked again on `alert` events, or every minute without the stream. */
export function useFiringCount(): number | null {
  const firing = useResource("nav-firing", (signal) => api.alerts({ state: "firing", limit: 1000 }, signal));
  const { reload } = firing;
  const connected = useStreamConnected();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents((event) => {
    if (event.type !== "alert") return;
    clearTimeout(timer.current);
    timer.current = setTimeout(reload, 300);
  });
  useEffect(() => {
    const t = setInterval(reload, connected ? 120_000 : 60_000);
    return () => clearInterval(t);
  }, [reload, connected]);
  return firing.data ? firing.data.length : null;
}
