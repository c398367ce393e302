// The live event stream: GET /api/events?token=<jwt> (Server-Sent Events).
// EventSource cannot send headers, hence the token in the query.
//
// The event name is the payload's `type`; payloads are the OpenAPI
// document's LiveEvent:
//   event: report  data: {"type":"report","host_id":1,"ts":<ms>}
//   event: host    data: {"type":"host","host_id":1,"status":"online"|"offline","last_seen":<ms>|null}
//   event: command data: {"type":"command","command_id":7,"host_id":1,"status":"running","output":"<new chunk>"}
//   event: check   data: {"type":"check","check_id":3,"status":"up"|"down","error":<string>|null}
//                  (sent when a health check changes state, not on every run)
//   event: alert   data: {"type":"alert","alert_id":5,"state":"firing","severity":"critical","name":"High CPU"}
//                  (sent when an alarm changes: fires, resolves, is acknowledged)
//
// One connection is shared by every subscriber. While it is down, pages poll
// instead (see `useStreamConnected`), so a server without the stream still works.
//
// The stream is of the user's own tenant (EventSource cannot send the
// x-lxmon-tenant header), so while a platform admin acts in another tenant
// it stays closed and pages poll.

import { getSession, subscribeSession } from "./session";
import { getActingTenant, subscribeActingTenant } from "./tenant";
import type { LiveEvent as WireEvent } from "./types";

export type ReportEvent = Extract<WireEvent, { type: "report" }>;
export type HostEvent = Extract<WireEvent, { type: "host" }>;
export type CommandEvent = Extract<WireEvent, { type: "command" }>;
export type CheckEvent = Extract<WireEvent, { type: "check" }>;
export type AlertEvent = Extract<WireEvent, { type: "alert" }>;

export type LiveEvent =
  | { type: "report"; data: ReportEvent }
  | { type: "host"; data: HostEvent }
  | { type: "command"; data: CommandEvent }
  | { type: "check"; data: CheckEvent }
  | { type: "alert"; data: AlertEvent };

type EventListener = (event: LiveEvent) => void;
type StateListener = (connected: boolean) => void;

const eventListeners = new Set<EventListener>();
const stateListeners = new Set<StateListener>();
let source: EventSource | null = null;
let sourceToken: string | null = null;
let connected = false;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let retryDelayMs = 1000;

function setConnected(value: boolean) {
  if (connected === value) return;
  connected = value;
  for (const listener of stateListeners) listener(value);
}

function parse<T>(raw: string, check: (v: Record<string, unknown>) => boolean): T | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === "object" && value !== null && check(value as Record<string, unknown>)) return value as T;
  } catch {
    // A malformed event is skipped; the next one will do.
  }
  return null;
}

function dispatch(event: LiveEvent) {
  for (const listener of eventListeners) listener(event);
}

function close() {
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  source?.close();
  source = null;
  sourceToken = null;
  setConnected(false);
}

function open() {
  const session = getSession();
  if (!session || typeof EventSource === "undefined" || getActingTenant() !== null) return;
  if (source && sourceToken === session.token) return;
  close();
  sourceToken = session.token;
  const es = new EventSource(`/api/events?token=${encodeURIComponent(session.token)}`);
  source = es;
  es.onopen = () => {
    retryDelayMs = 1000;
    setConnected(true);
  };
  es.addEventListener("report", (e) => {
    const data = parse<ReportEvent>((e as MessageEvent<string>).data, (v) => typeof v.host_id === "number");
    if (data) dispatch({ type: "report", data });
  });
  es.addEventListener("host", (e) => {
    const data = parse<HostEvent>((e as MessageEvent<string>).data, (v) => typeof v.host_id === "number" && typeof v.status === "string");
    if (data) dispatch({ type: "host", data });
  });
  es.addEventListener("command", (e) => {
    const data = parse<CommandEvent>(
      (e as MessageEvent<string>).data,
      (v) => typeof v.command_id === "number" && typeof v.host_id === "number" && typeof v.status === "string" && typeof v.output === "string",
    );
    if (data) dispatch({ type: "command", data });
  });
  es.addEventListener("check", (e) => {
    const data = parse<CheckEvent>((e as MessageEvent<string>).data, (v) => typeof v.check_id === "number" && typeof v.status === "string");
    if (data) dispatch({ type: "check", data });
  });
  es.addEventListener("alert", (e) => {
    const data = parse<AlertEvent>((e as MessageEvent<string>).data, (v) => typeof v.alert_id === "number" && typeof v.state === "string");
    if (data) dispatch({ type: "alert", data });
  });
  es.onerror = () => {
    setConnected(false);
    // EventSource retries by itself while the connection is merely dropped;
    // a refused one (404 before the server has the stream, 401 after the
    // token expired) is CLOSED for good, so retry later with backoff.
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      sourceToken = null;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (eventListeners.size > 0 || stateListeners.size > 0) open();
      }, retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, 60_000);
    }
  };
}

function releaseIfUnused() {
  if (eventListeners.size === 0 && stateListeners.size === 0) close();
}

/** Calls `listener` for every live event until the returned function is called. */
export function subscribeEvents(listener: EventListener): () => void {
  eventListeners.add(listener);
  open();
  return () => {
    eventListeners.delete(listener);
    releaseIfUnused();
  };
}

/** Calls `listener` when the stream connects or drops. */
export function subscribeStreamState(listener: StateListener): () => void {
  stateListeners.add(listener);
  open();
  return () => {
    stateListeners.delete(listener);
    releaseIfUnused();
  };
}

export function isStreamConnected(): boolean {
  return connected;
}

// A new token (password change, new login) or another tenant: reconnect as
// the new identity, or stay closed while acting in another tenant.
function reconnect() {
  const session = getSession();
  if (source && session && sourceToken === session.token && getActingTenant() === null) return;
  close();
  if (eventListeners.size > 0 || stateListeners.size > 0) open();
}
subscribeSession(reconnect);
subscribeActingTenant(reconnect);

/** Drops the stream (at logout: its token is no longer valid). */
export function closeEventStream(): void {
  close();
}
