import { useEffect, useRef, useState } from "react";
import { isStreamConnected, subscribeEvents, subscribeStreamState, type LiveEvent } from "../api/events";

/** Calls `onEvent` for each live event while the component is mounted. */
export function useLiveEvents(onEvent: (event: LiveEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => subscribeEvents((e) => handler.current(e)), []);
}

/** Whether the live stream is connected (pages poll while it is not). */
export function useStreamConnected(): boolean {
  const [connected, setConnected] = useState(isStreamConnected);
  useEffect(() => subscribeStreamState(setConnected), []);
  return connected;
}
