// The frame around every page: navigation (a sidebar on wide screens, a
// menu on phones) by role, the tenant switcher of platform admins, the theme
// toggle and the user menu.

import { useEffect, useState, type ReactNode } from "react";
import { api } from "../api/client";
import { setActingTenant, subscribeTenantsChanged } from "../api/tenant";
import { useMe } from "../app/me";
import { handleLinkClick, navigate } from "../app/router";
import { setTheme, useTheme } from "../app/theme";
import { useActingTenant } from "../hooks/useActingTenant";
import { useFiringCount } from "../hooks/useFiringCount";
import { useResource } from "../hooks/useResource";
import { isPlatformAdmin, navEntries, type NavKey } from "../lib/access";

export type ActivePage = NavKey | "account" | null;

const LINK_CLASS =
  "block rounded-md px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-500 aria-[current=page]:bg-sky-100 aria-[current=page]:text-sky-900 dark:text-slate-200 dark:hover:bg-slate-800 dark:aria-[current=page]:bg-sky-950 dark:aria-[current=page]:text-sky-200";

function NavLinks({ active, onNavigate, firing }: { active: ActivePage; onNavigate: () => void; firing: number | null }) {
  const { role } = useMe();
  const entries = navEntries(role);
  return (
    <ul className="space-y-0.5 text-sm">
      {entries.map((entry) =>
        entry.href ? (
          <li key={entry.label}>
            <a
              href={entry.href}
              data-nav={entry.key}
              onClick={(e) => {
                handleLinkClick(e, entry.href!);
                onNavigate();
              }}
              aria-current={active === entry.key ? "page" : undefined}
              className={`${LINK_CLASS} ${entry.key === "alerts" ? "flex items-center justify-between" : ""}`}
            >
              {entry.label}
              {entry.key === "alerts" && firing !== null && firing > 0 && (
                <span className="rounded-full bg-rose-600 px-1.5 text-xs font-semibold text-white tabular-nums" data-testid="firing-count" title={`${firing} firing`}>
                  {firing}
                  <span className="sr-only"> firing</span>
                </span>
              )}
            </a>
          </li>
        ) : (
          <li key={entry.label}>
            <span aria-disabled="true" title="Coming soon" className="flex cursor-not-allowed items-center justify-between rounded-md px-3 py-1.5 text-slate-400 dark:text-slate-500">
              {entry.label}
              <span className="rounded bg-slate-200 px-1.5 text-[10px] font-semibold tracking-wide text-slate-500 uppercase dark:bg-slate-800 dark:text-slate-400">soon</span>
            </span>
          </li>
        ),
      )}
      <li className="mt-2 border-t border-slate-200 pt-2 dark:border-slate-800">
        <a
          href="/account"
          data-nav="account"
          onClick={(e) => {
            handleLinkClick(e, "/account");
            onNavigate();
          }}
          aria-current={active === "account" ? "page" : undefined}
          className={LINK_CLASS}
        >
          My account
        </a>
      </li>
    </ul>
  );
}

function ThemeToggle() {
  const theme = useTheme();
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button type="button" className="btn" onClick={() => setTheme(next)} aria-label={`Switch to ${next} theme`} title={`Switch to ${next} theme`} data-testid="theme-toggle">
      <span aria-hidden="true">{theme === "dark" ? "☀" : "☾"}</span>
      <span className="hidden sm:inline">{theme === "dark" ? "Light" : "Dark"}</span>
    </button>
  );
}

/** Platform admins act inside any tenant: the choice goes out as x-lxmon-tenant on every call. */
function TenantSwitcher() {
  const me = useMe();
  const tenants = useResource("layout-tenants", (signal) => api.tenants(signal));
  const { reload } = tenants;
  useEffect(() => subscribeTenantsChanged(reload), [reload]);
  const list = tenants.data;
  const acting = useActingTenant();
  // A tenant that was deleted (here or elsewhere) cannot be acted in.
  useEffect(() => {
    if (list && acting !== null && !list.some((t) => t.id === acting)) setActingTenant(null);
  }, [list, acting]);
  if (!list || list.length < 2) return null;
  const current = acting ?? me.homeTenantId;
  const away = acting !== null;
  return (
    <label className="flex items-center gap-1.5 text-sm">
      <span className="hidden text-slate-500 lg:inline dark:text-slate-400">Tenant</span>
      <select
        data-testid="tenant-switcher"
        aria-label="Act in tenant"
        className={`input w-auto max-w-[9rem] py-1 sm:max-w-[14rem] ${away ? "border-amber-400 bg-amber-50 dark:border-amber-600 dark:bg-amber-950/60" : ""}`}
        value={current}
        onChange={(e) => {
          // A host page belongs to one tenant: start from the overview of the next.
          if (window.location.pathname.startsWith("/servers/")) navigate("/");
          setActingTenant(Number(e.target.value));
        }}
      >
        {list.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
            {t.id === me.homeTenantId ? " (yours)" : ""}
            {t.suspended ? " — suspended" : ""}
          </option>
        ))}
      </select>
    </label>
  );
}

function Brand() {
  return (
    <a href="/" onClick={(e) => handleLinkClick(e, "/")} className="flex items-center gap-2 font-semibold tracking-tight focus-visible:outline-2 focus-visible:outline-sky-500">
      <svg aria-hidden="true" viewBox="0 0 16 16" className="h-5 w-5">
        <path d="M1 10h3l2-6 3 9 2-5h4" fill="none" stroke="#0ea5e9" strokeWidth="2" strokeLinejoin="round" />
      </svg>
      lxmon
    </a>
  );
}

export function Layout({ onLogout, active, children }: { onLogout: () => void; active: ActivePage; children: ReactNode }) {
  const [menuOpen, setMenuOpen] = useState(false);
  const me = useMe();
  const firing = useFiringCount();
  return (
    <div className="flex min-h-dvh flex-col md:flex-row">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-slate-900">
        Skip to content
      </a>
      <aside className="hidden w-52 shrink-0 border-r border-slate-200 bg-slate-100/60 p-3 md:block dark:border-slate-800 dark:bg-slate-900/60">
        <div className="mb-4 px-3 pt-1">
          <Brand />
        </div>
        <nav aria-label="Main">
          <NavLinks active={active} onNavigate={() => undefined} firing={firing} />
        </nav>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center justify-between gap-2 border-b border-slate-200 bg-white/80 px-3 py-2 backdrop-blur sm:px-4 dark:border-slate-800 dark:bg-slate-900/80">
          <div className="flex items-center gap-2 md:hidden">
            <button type="button" className="btn" aria-expanded={menuOpen} aria-controls="mobile-nav" onClick={() => setMenuOpen((o) => !o)}>
              <span aria-hidden="true">☰</span>
              <span className="sr-only">Menu</span>
            </button>
            <Brand />
          </div>
          <div className="hidden md:block" />
          <div className="flex min-w-0 items-center gap-2">
            {isPlatformAdmin(me.role) && <TenantSwitcher />}
            <ThemeToggle />
            <a
              href="/account"
              onClick={(e) => handleLinkClick(e, "/account")}
              className="link hidden text-sm sm:inline"
              data-testid="username"
              title="My account: password and two-factor login"
              aria-current={active === "account" ? "page" : undefined}
            >
              {me.username}
            </a>
            <button type="button" className="btn" onClick={onLogout} data-testid="logout">
              Log out
            </button>
          </div>
        </header>
        {menuOpen && (
          <nav id="mobile-nav" aria-label="Main" className="border-b border-slate-200 bg-slate-100 p-2 md:hidden dark:border-slate-800 dark:bg-slate-900">
            <NavLinks active={active} onNavigate={() => setMenuOpen(false)} firing={firing} />
          </nav>
        )}
        <main id="main" tabIndex={-1} className="flex min-w-0 flex-1 flex-col p-3 outline-none sm:p-4">
          {children}
        </main>
      </div>
    </div>
  );
}
