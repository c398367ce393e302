// The dashboard's HTTP client: typed by the OpenAPI paths, sends the session
// token, turns error bodies into ApiError, and ends the session on a 401 so
// every page returns to the login form the same way.

import { endSession, getSession } from "./session";
import type { BodyOf, ErrorBody, LatestView, LoginResponse, Ok, QueryOf, QueryResult, Server, WhoAmI } from "./types";

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
  method?: "GET" | "POST";
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
};
