// The app shell: who is logged in decides between the login form and the
// pages; the URL decides which page.

import { Component, useEffect, useSyncExternalStore, type ErrorInfo, type ReactNode } from "react";
import { api, SESSION_EXPIRED_MESSAGE } from "../api/client";
import { closeEventStream } from "../api/events";
import { endSession, getSession, subscribeSession } from "../api/session";
import { Layout } from "../components/Layout";
import { LoginPage } from "../pages/LoginPage";
import { OverviewPage } from "../pages/overview/OverviewPage";
import { ServerPage } from "../pages/server/ServerPage";
import { handleLinkClick, parseRoute, useLocation } from "./router";

function useSession() {
  return useSyncExternalStore(subscribeSession, getSession, () => null);
}

export function App() {
  const session = useSession();
  const { pathname, search } = useLocation();

  // A stored token may have expired or been signed by an older server
  // secret: check it once, and end the session when its time is up.
  const token = session?.token;
  const expiresAt = session?.expiresAt;
  useEffect(() => {
    if (!token) return;
    const controller = new AbortController();
    api.me(controller.signal).catch(() => {
      // A 401 already ended the session (with its message); other errors
      // (server down) leave it be: the pages show them.
    });
    return () => controller.abort();
  }, [token]);
  useEffect(() => {
    if (!expiresAt) return;
    const remainingMs = expiresAt * 1000 - Date.now();
    // Timers overflow past ~24 days; such a session is checked on next load.
    if (remainingMs > 2 ** 31 - 1) return;
    const timer = setTimeout(() => endSession(SESSION_EXPIRED_MESSAGE), Math.max(0, remainingMs));
    return () => clearTimeout(timer);
  }, [expiresAt]);

  if (!session) return <LoginPage />;

  const route = parseRoute(pathname);
  const logout = () => {
    closeEventStream();
    // Best effort: the token is dropped here whatever the server answers.
    api.logout().catch(() => undefined);
    endSession(null);
  };
  return (
    <Layout username={session.username} onLogout={logout} active={route.page === "overview" ? "overview" : null}>
      <ErrorBoundary key={pathname}>
        {route.page === "overview" && <OverviewPage />}
        {route.page === "server" && <ServerPage key={route.id} id={route.id} search={search} />}
        {route.page === "coming-soon" && <Placeholder title={route.name[0]!.toUpperCase() + route.name.slice(1)} text="This page is coming in a later release." />}
        {route.page === "not-found" && <Placeholder title="Page not found" text={`Nothing lives at ${route.path}.`} />}
      </ErrorBoundary>
    </Layout>
  );
}

function Placeholder({ title, text }: { title: string; text: string }) {
  return (
    <div className="space-y-2">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="text-sm text-slate-500 dark:text-slate-400">{text}</p>
      <a href="/" className="link text-sm" onClick={(e) => handleLinkClick(e, "/")}>
        Back to the fleet overview
      </a>
    </div>
  );
}

/** A bug in one page shows a message instead of a blank screen. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("page failed", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="rounded-lg border border-rose-300 bg-rose-50 p-4 text-sm text-rose-900 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200">
        <p className="font-semibold">This page failed to display.</p>
        <p className="mt-1">{this.state.error.message}</p>
        <button type="button" className="btn mt-3" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
