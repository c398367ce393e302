// The dashboard's HTTP client: typed by the OpenAPI paths, sends the session
// token, turns error bodies into ApiError, and ends the session on a 401 so
// every page returns to the login form the same way.

import { endSession, getSession } from "./session";
import { getActingTenant } from "./tenant";
import type {
  AgentKeyView,
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
};
