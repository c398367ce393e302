// The app shell: who is logged in decides between the login form and the
// pages; the URL decides which page. A platform admin's tenant switch
// remounts the pages, so nothing loaded for one tenant shows in another.

import { Component, useEffect, useSyncExternalStore, type ErrorInfo, type ReactNode } from "react";
import { api, SESSION_EXPIRED_MESSAGE } from "../api/client";
import { closeEventStream } from "../api/events";
import { endSession, getSession, subscribeSession } from "../api/session";
import { Layout, type ActivePage } from "../components/Layout";
import { useActingTenant } from "../hooks/useActingTenant";
import { isPlatformAdmin, isTenantAdmin } from "../lib/access";
import { AccountPage } from "../pages/account/AccountPage";
import { AlarmPage } from "../pages/alerts/AlarmPage";
import { AlarmsPage } from "../pages/alerts/AlarmsPage";
import { ChannelsPage } from "../pages/alerts/ChannelsPage";
import { RulesPage } from "../pages/alerts/RulesPage";
import { SilencesPage } from "../pages/alerts/SilencesPage";
import { AuditPage } from "../pages/admin/AuditPage";
import { CheckPage } from "../pages/checks/CheckPage";
import { ChecksPage } from "../pages/checks/ChecksPage";
import { KeysPage } from "../pages/admin/KeysPage";
import { TenantsPage } from "../pages/admin/TenantsPage";
import { UsersPage } from "../pages/admin/UsersPage";
import { InvitePage } from "../pages/InvitePage";
import { LoginPage } from "../pages/LoginPage";
import { OverviewPage } from "../pages/overview/OverviewPage";
import { ServerPage } from "../pages/server/ServerPage";
import { MeProvider, useMe } from "./me";
import { handleLinkClick, navigate, parseRoute, useLocation, type Route } from "./router";

function useSession() {
  return useSyncExternalStore(subscribeSession, getSession, () => null);
}

export function App() {
  const session = useSession();
  const acting = useActingTenant();
  const { pathname, search } = useLocation();
  const route = parseRoute(pathname);

  // End the session when its time is up (a stored token that is already
  // invalid is found out by MeProvider's /api/auth/me).
  const expiresAt = session?.expiresAt;
  useEffect(() => {
    if (!expiresAt) return;
    const remainingMs = expiresAt * 1000 - Date.now();
    // Timers overflow past ~24 days; such a session is checked on next load.
    if (remainingMs > 2 ** 31 - 1) return;
    const timer = setTimeout(() => endSession(SESSION_EXPIRED_MESSAGE), Math.max(0, remainingMs));
    return () => clearTimeout(timer);
  }, [expiresAt]);

  // The invitation page needs no login: it is how an invited user gets one.
  if (route.page === "invite") return <InvitePage />;
  if (!session) return <LoginPage />;

  const logout = () => {
    closeEventStream();
    // Best effort: the token is dropped here whatever the server answers.
    api.logout().catch(() => undefined);
    endSession(null);
    // The next person to log in starts on the overview, not on this user's page.
    navigate("/", { replace: true });
  };
  return (
    <MeProvider session={session} actingTenant={acting}>
      <Layout onLogout={logout} active={activePage(route)}>
        <ErrorBoundary key={`${acting ?? "home"}:${pathname}`}>
          <Page route={route} search={search} />
        </ErrorBoundary>
      </Layout>
    </MeProvider>
  );
}

function activePage(route: Route): ActivePage {
  switch (route.page) {
    case "overview":
    case "users":
    case "tenants":
    case "keys":
    case "audit":
    case "account":
      return route.page;
    case "checks":
    case "check":
      return "checks";
    case "alarms":
    case "alarm":
    case "alert-rules":
    case "alert-channels":
    case "alert-silences":
      return "alerts";
    default:
      return null;
  }
}

function Page({ route, search }: { route: Route; search: string }) {
  const { role } = useMe();
  switch (route.page) {
    case "overview":
      return <OverviewPage />;
    case "server":
      return <ServerPage key={route.id} id={route.id} search={search} />;
    case "checks":
      return <ChecksPage />;
    case "check":
      return <CheckPage key={route.id} id={route.id} search={search} />;
    case "alarms":
      return <AlarmsPage />;
    case "alarm":
      return <AlarmPage key={route.id} id={route.id} />;
    case "alert-rules":
      return <RulesPage />;
    case "alert-channels":
      return <ChannelsPage />;
    case "alert-silences":
      return <SilencesPage />;
    case "account":
      return <AccountPage />;
    case "users":
    case "keys":
    case "audit":
      if (!isTenantAdmin(role)) return <Placeholder title="Not available" text="This page is for tenant admins. Ask one of them if you need something changed." />;
      return route.page === "users" ? <UsersPage /> : route.page === "keys" ? <KeysPage /> : <AuditPage />;
    case "tenants":
      if (!isPlatformAdmin(role)) return <Placeholder title="Not available" text="Tenants are managed by platform admins." />;
      return <TenantsPage />;
    case "coming-soon":
      return <Placeholder title={route.name[0]!.toUpperCase() + route.name.slice(1)} text="This page is coming in a later release." />;
    case "invite":
      return null;
    case "not-found":
      return <Placeholder title="Page not found" text={`Nothing lives at ${route.path}.`} />;
  }
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
