import { useEffect, useRef } from "react";
import { useLiveEvents, useStreamConnected } from "./useLiveEvents";

/** Re-asks `reload` shortly after each `alert` event (several often come together), and polls while the stream is down. */
export function useAlertRefresh(reload: () => void, onlyId?: number) {
  const connected = useStreamConnected();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents((event) => {
    if (event.type !== "alert" || (onlyId !== undefined && event.data.alert_id !== onlyId)) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(reload, 250);
  });
  useEffect(() => {
    const t = setInterval(reload, connected ? 60_000 : 10_000);
    return () => clearInterval(t);
  }, [reload, connected]);
}
