// The dashboard's HTTP client: typed by the OpenAPI paths, sends the session
// token, turns error bodies into ApiError, and ends the session on a 401 so
// every page returns to the login form the same way.

import { endSession, getSession } from "./session";
import { getActingTenant } from "./tenant";
import type {
  AgentKeyView,
  Alert,
  AlertDetail,
  ChannelInput,
  ChannelTestResult,
  ChannelView,
  Maintenance,
  MaintenanceView,
  NotificationRecord,
  PreviewInput,
  PreviewRow,
  RuleDefinition,
  RuleView,
  Routing,
  Silence,
  SilenceView,
  WebhookInput,
  WebhookView,
  AuditPage,
  BodyOf,
  CheckInput,
  CheckSeries,
  CheckView,
  Command,
  Created,
  CreatedKey,
  CreatedToken,
  CreatedUser,
  EnrollmentTokenView,
  ErrorBody,
  LatestView,
  LoginResponse,
  Ok,
  QueryOf,
  QueryResult,
  RecoveryCodes,
  Server,
  StatusPage,
  StatusPageInput,
  Tenant,
  TestOutcome,
  TotpSetup,
  UserView,
  WhoAmI,
} from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** A readable sentence for any error a request can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.message;
    return `${error.message} (${error.status} ${error.code})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export const SESSION_EXPIRED_MESSAGE = "Your session has expired. Please log in again.";

type Query = Record<string, string | number | undefined>;

interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Login itself answers 401 for a wrong password: that must not "expire" anything. */
  authenticated?: boolean;
  /** Whether a 401 ends the session (not for logout, which ends it anyway). */
  expireOn401?: boolean;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const encoded = params.toString();
  return encoded ? `${path}?${encoded}` : path;
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const inner = (value as { error: unknown }).error;
  return typeof inner === "object" && inner !== null && "message" in inner;
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = "GET", query, body, signal, authenticated = true, expireOn401 = authenticated } = options;
  const headers: Record<string, string> = { Accept: "application/json" };
  const session = getSession();
  if (authenticated && session) headers.Authorization = `Bearer ${session.token}`;
  // A platform admin acting in another tenant says so on every call.
  const tenant = getActingTenant();
  if (authenticated && tenant !== null) headers["x-lxmon-tenant"] = String(tenant);
  if (body !== undefined) headers["Content-Type"] = "application/json";

  let response: Response;
  try {
    response = await fetch(withQuery(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection; the page retries on its own.");
  }

  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }

  if (!response.ok) {
    const code = isErrorBody(parsed) ? String(parsed.error.code) : `http_${response.status}`;
    const message = isErrorBody(parsed)
      ? String(parsed.error.message)
      : `The server answered ${response.status} ${response.statusText || ""}`.trim();
    if (response.status === 401 && expireOn401) {
      endSession(code === "session_expired" ? SESSION_EXPIRED_MESSAGE : `You have been logged out: ${message}`);
    }
    throw new ApiError(response.status, code, message);
  }
  if (parsed === undefined) {
    // 204 No Content (logout) has no body by design.
    if (response.status === 204) return undefined as T;
    throw new ApiError(response.status, "bad_response", `The server sent an unreadable answer to ${path}`);
  }
  return parsed as T;
}

export type MetricsQuery = QueryOf<"/api/servers/{id}/metrics", "get">;
export type AuditQuery = QueryOf<"/api/audit", "get">;
export type HistoryQuery = QueryOf<"/api/servers/{id}/commands", "get">;
export type CheckResultsQuery = QueryOf<"/api/checks/{id}/results", "get">;
export type AlertsQuery = QueryOf<"/api/alerts", "get">;

const seg = encodeURIComponent;

export const api = {
  login(credentials: BodyOf<"/api/auth/login", "post">, signal?: AbortSignal): Promise<LoginResponse> {
    return request<Ok<"/api/auth/login", "post">>("/api/auth/login", { method: "POST", body: credentials, signal, authenticated: false });
  },
  /** Tells the server the session ends (audited; `everywhere` revokes every token of the user). */
  logout(everywhere = false): Promise<void> {
    return request<void>("/api/auth/logout", { method: "POST", body: { everywhere }, expireOn401: false });
  },
  me(signal?: AbortSignal): Promise<WhoAmI> {
    return request<Ok<"/api/auth/me", "get">>("/api/auth/me", { signal });
  },
  servers(signal?: AbortSignal): Promise<Server[]> {
    return request<Ok<"/api/servers", "get">>("/api/servers", { signal });
  },
  server(id: number, signal?: AbortSignal): Promise<Server> {
    return request<Ok<"/api/servers/{id}", "get">>(`/api/servers/${id}`, { signal });
  },
  latest(id: number, signal?: AbortSignal): Promise<LatestView> {
    return request<Ok<"/api/servers/{id}/latest", "get">>(`/api/servers/${id}/latest`, { signal });
  },
  metrics(id: number, query: MetricsQuery, signal?: AbortSignal): Promise<QueryResult> {
    return request<Ok<"/api/servers/{id}/metrics", "get">>(`/api/servers/${id}/metrics`, { query: { ...query }, signal });
  },

  // --- the caller's own account ---
  /** Changes the password; every other session ends and the answer is the new one. */
  changePassword(body: BodyOf<"/api/auth/password", "post">): Promise<LoginResponse> {
    return request<Ok<"/api/auth/password", "post">>("/api/auth/password", { method: "POST", body });
  },
  totpSetup(): Promise<TotpSetup> {
    return request<Ok<"/api/auth/totp/setup", "post">>("/api/auth/totp/setup", { method: "POST" });
  },
  totpEnable(code: string): Promise<RecoveryCodes> {
    return request<Ok<"/api/auth/totp/enable", "post">>("/api/auth/totp/enable", { method: "POST", body: { code } satisfies BodyOf<"/api/auth/totp/enable", "post"> });
  },
  totpDisable(password: string): Promise<void> {
    return request<void>("/api/auth/totp/disable", { method: "POST", body: { password } satisfies BodyOf<"/api/auth/totp/disable", "post"> });
  },
  /** Sets an invited user's password (no session yet: a 401 here is a bad link, not an expiry). */
  acceptInvite(body: BodyOf<"/api/invites/accept", "post">): Promise<LoginResponse> {
    return request<Ok<"/api/invites/accept", "post">>("/api/invites/accept", { method: "POST", body, authenticated: false });
  },

  // --- users ---
  users(signal?: AbortSignal): Promise<UserView[]> {
    return request<Ok<"/api/users", "get">>("/api/users", { signal });
  },
  createUser(body: BodyOf<"/api/users", "post">): Promise<CreatedUser> {
    return request<Created<"/api/users", "post">>("/api/users", { method: "POST", body });
  },
  patchUser(id: number, body: BodyOf<"/api/users/{id}", "patch">): Promise<UserView> {
    return request<Ok<"/api/users/{id}", "patch">>(`/api/users/${id}`, { method: "PATCH", body });
  },
  deleteUser(id: number): Promise<void> {
    return request<void>(`/api/users/${id}`, { method: "DELETE" });
  },

  // --- tenants (platform admins) ---
  tenants(signal?: AbortSignal): Promise<Tenant[]> {
    return request<Ok<"/api/tenants", "get">>("/api/tenants", { signal });
  },
  createTenant(body: BodyOf<"/api/tenants", "post">): Promise<Tenant> {
    return request<Created<"/api/tenants", "post">>("/api/tenants", { method: "POST", body });
  },
  patchTenant(id: number, body: BodyOf<"/api/tenants/{id}", "patch">): Promise<Tenant> {
    return request<Ok<"/api/tenants/{id}", "patch">>(`/api/tenants/${id}`, { method: "PATCH", body });
  },
  /** Deletes a tenant and all its data; `confirm` is its name, typed again. */
  deleteTenant(id: number, confirm: string): Promise<void> {
    return request<void>(`/api/tenants/${id}`, { method: "DELETE", body: { confirm } satisfies BodyOf<"/api/tenants/{id}", "delete"> });
  },

  // --- agent keys and enrollment tokens ---
  agentKeys(signal?: AbortSignal): Promise<AgentKeyView[]> {
    return request<Ok<"/api/agent-keys", "get">>("/api/agent-keys", { signal });
  },
  createKey(body: BodyOf<"/api/agent-keys", "post">): Promise<CreatedKey> {
    return request<Created<"/api/agent-keys", "post">>("/api/agent-keys", { method: "POST", body });
  },
  rotateKey(keyId: string, body: BodyOf<"/api/agent-keys/{key_id}/rotate", "post">): Promise<CreatedKey> {
    return request<Created<"/api/agent-keys/{key_id}/rotate", "post">>(`/api/agent-keys/${seg(keyId)}/rotate`, { method: "POST", body });
  },
  revokeKey(keyId: string): Promise<void> {
    return request<void>(`/api/agent-keys/${seg(keyId)}`, { method: "DELETE" });
  },
  enrollmentTokens(signal?: AbortSignal): Promise<EnrollmentTokenView[]> {
    return request<Ok<"/api/enrollment-tokens", "get">>("/api/enrollment-tokens", { signal });
  },
  createToken(body: BodyOf<"/api/enrollment-tokens", "post">): Promise<CreatedToken> {
    return request<Created<"/api/enrollment-tokens", "post">>("/api/enrollment-tokens", { method: "POST", body });
  },
  revokeToken(id: number): Promise<void> {
    return request<void>(`/api/enrollment-tokens/${id}`, { method: "DELETE" });
  },

  // --- audit ---
  audit(query: AuditQuery, signal?: AbortSignal): Promise<AuditPage> {
    return request<Ok<"/api/audit", "get">>("/api/audit", { query: { ...query }, signal });
  },

  // --- remote commands ---
  runCommand(hostId: number, body: BodyOf<"/api/servers/{id}/command", "post">): Promise<Command> {
    return request<Created<"/api/servers/{id}/command", "post">>(`/api/servers/${hostId}/command`, { method: "POST", body });
  },
  commandStatus(id: number, signal?: AbortSignal): Promise<Command> {
    return request<Ok<"/api/commands/{id}/status", "get">>(`/api/commands/${id}/status`, { signal });
  },
  commandHistory(hostId: number, query: HistoryQuery, signal?: AbortSignal): Promise<Command[]> {
    return request<Ok<"/api/servers/{id}/commands", "get">>(`/api/servers/${hostId}/commands`, { query: { ...query }, signal });
  },
  cancelCommand(id: number): Promise<Command> {
    return request<Ok<"/api/commands/{id}/cancel", "post">>(`/api/commands/${id}/cancel`, { method: "POST" });
  },

  // --- health checks and status pages ---
  checks(signal?: AbortSignal): Promise<CheckView[]> {
    return request<Ok<"/api/checks", "get">>("/api/checks", { signal });
  },
  check(id: number, signal?: AbortSignal): Promise<CheckView> {
    return request<Ok<"/api/checks/{id}", "get">>(`/api/checks/${id}`, { signal });
  },
  createCheck(body: CheckInput): Promise<CheckView> {
    return request<Created<"/api/checks", "post">>("/api/checks", { method: "POST", body });
  },
  updateCheck(id: number, body: CheckInput): Promise<CheckView> {
    return request<Ok<"/api/checks/{id}", "put">>(`/api/checks/${id}`, { method: "PUT", body });
  },
  deleteCheck(id: number): Promise<void> {
    return request<void>(`/api/checks/${id}`, { method: "DELETE" });
  },
  /** Runs a definition once from the server without saving it ("Test now"). */
  testCheck(body: CheckInput, signal?: AbortSignal): Promise<TestOutcome> {
    return request<Ok<"/api/checks/test", "post">>("/api/checks/test", { method: "POST", body, signal });
  },
  checkResults(id: number, query: CheckResultsQuery, signal?: AbortSignal): Promise<CheckSeries> {
    return request<Ok<"/api/checks/{id}/results", "get">>(`/api/checks/${id}/results`, { query: { ...query }, signal });
  },
  statusPages(signal?: AbortSignal): Promise<StatusPage[]> {
    return request<Ok<"/api/status-pages", "get">>("/api/status-pages", { signal });
  },
  createStatusPage(body: StatusPageInput): Promise<StatusPage> {
    return request<Created<"/api/status-pages", "post">>("/api/status-pages", { method: "POST", body });
  },
  deleteStatusPage(id: number): Promise<void> {
    return request<void>(`/api/status-pages/${id}`, { method: "DELETE" });
  },

  // --- alerting ---
  alerts(query: AlertsQuery, signal?: AbortSignal): Promise<Alert[]> {
    return request<Ok<"/api/alerts", "get">>("/api/alerts", { query: { ...query }, signal });
  },
  alert(id: number, signal?: AbortSignal): Promise<AlertDetail> {
    return request<Ok<"/api/alerts/{id}", "get">>(`/api/alerts/${id}`, { signal });
  },
  /** Acknowledges an alarm (`ack: false` takes the acknowledgement back). */
  ackAlert(id: number, body: BodyOf<"/api/alerts/{id}/ack", "post">): Promise<Alert> {
    return request<Ok<"/api/alerts/{id}/ack", "post">>(`/api/alerts/${id}/ack`, { method: "POST", body });
  },
  assignAlert(id: number, assignee: string | null): Promise<Alert> {
    return request<Ok<"/api/alerts/{id}/assign", "post">>(`/api/alerts/${id}/assign`, { method: "POST", body: { assignee } satisfies BodyOf<"/api/alerts/{id}/assign", "post"> });
  },
  notifications(query: QueryOf<"/api/notifications", "get">, signal?: AbortSignal): Promise<NotificationRecord[]> {
    return request<Ok<"/api/notifications", "get">>("/api/notifications", { query: { ...query }, signal });
  },
  rules(signal?: AbortSignal): Promise<RuleView[]> {
    return request<Ok<"/api/alert-rules", "get">>("/api/alert-rules", { signal });
  },
  createRule(body: RuleDefinition): Promise<RuleView> {
    return request<Created<"/api/alert-rules", "post">>("/api/alert-rules", { method: "POST", body });
  },
  updateRule(id: number, body: RuleDefinition): Promise<RuleView> {
    return request<Ok<"/api/alert-rules/{id}", "put">>(`/api/alert-rules/${id}`, { method: "PUT", body });
  },
  deleteRule(id: number): Promise<void> {
    return request<void>(`/api/alert-rules/${id}`, { method: "DELETE" });
  },
  /** The series a condition would watch now, with their latest values. */
  previewRule(body: PreviewInput, signal?: AbortSignal): Promise<PreviewRow[]> {
    return request<Ok<"/api/alert-rules/preview", "post">>("/api/alert-rules/preview", { method: "POST", body, signal });
  },
  channels(signal?: AbortSignal): Promise<ChannelView[]> {
    return request<Ok<"/api/channels", "get">>("/api/channels", { signal });
  },
  createChannel(body: ChannelInput): Promise<ChannelView> {
    return request<Created<"/api/channels", "post">>("/api/channels", { method: "POST", body });
  },
  updateChannel(id: number, body: ChannelInput): Promise<ChannelView> {
    return request<Ok<"/api/channels/{id}", "put">>(`/api/channels/${id}`, { method: "PUT", body });
  },
  deleteChannel(id: number): Promise<void> {
    return request<void>(`/api/channels/${id}`, { method: "DELETE" });
  },
  testChannel(id: number): Promise<ChannelTestResult> {
    return request<Ok<"/api/channels/{id}/test", "post">>(`/api/channels/${id}/test`, { method: "POST" });
  },
  routing(signal?: AbortSignal): Promise<Routing> {
    return request<Ok<"/api/alert-routing", "get">>("/api/alert-routing", { signal });
  },
  putRouting(body: Routing): Promise<Routing> {
    return request<Ok<"/api/alert-routing", "put">>("/api/alert-routing", { method: "PUT", body });
  },
  silences(signal?: AbortSignal): Promise<SilenceView[]> {
    return request<Ok<"/api/silences", "get">>("/api/silences", { signal });
  },
  createSilence(body: Silence): Promise<SilenceView> {
    return request<Created<"/api/silences", "post">>("/api/silences", { method: "POST", body });
  },
  /** Ends a silence now. */
  endSilence(id: number): Promise<void> {
    return request<void>(`/api/silences/${id}`, { method: "DELETE" });
  },
  maintenanceWindows(signal?: AbortSignal): Promise<MaintenanceView[]> {
    return request<Ok<"/api/maintenance-windows", "get">>("/api/maintenance-windows", { signal });
  },
  createMaintenance(body: Maintenance): Promise<MaintenanceView> {
    return request<Created<"/api/maintenance-windows", "post">>("/api/maintenance-windows", { method: "POST", body });
  },
  deleteMaintenance(id: number): Promise<void> {
    return request<void>(`/api/maintenance-windows/${id}`, { method: "DELETE" });
  },
  incomingWebhooks(signal?: AbortSignal): Promise<WebhookView[]> {
    return request<Ok<"/api/incoming-webhooks", "get">>("/api/incoming-webhooks", { signal });
  },
  /** Creates an incoming webhook; the answer holds its signing secret, once. */
  createIncomingWebhook(body: WebhookInput): Promise<WebhookView> {
    return request<Created<"/api/incoming-webhooks", "post">>("/api/incoming-webhooks", { method: "POST", body });
  },
  deleteIncomingWebhook(id: number): Promise<void> {
    return request<void>(`/api/incoming-webhooks/${id}`, { method: "DELETE" });
  },
};
