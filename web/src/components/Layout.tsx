// The frame around every page: navigation (a sidebar on wide screens, a
// menu on phones), the theme toggle and the user menu.

import { useState, type ReactNode } from "react";
import { handleLinkClick } from "../app/router";
import { setTheme, useTheme } from "../app/theme";

/** Pages that arrive in later issues; shown so the navigation does not move when they do. */
export const COMING_SOON = ["Commands", "Alarms", "Rules", "Channels", "Checks", "Users", "Tenants", "Keys", "Audit"] as const;

function NavLinks({ active, onNavigate }: { active: "overview" | null; onNavigate: () => void }) {
  return (
    <ul className="space-y-0.5 text-sm">
      <li>
        <a
          href="/"
          onClick={(e) => {
            handleLinkClick(e, "/");
            onNavigate();
          }}
          aria-current={active === "overview" ? "page" : undefined}
          className="block rounded-md px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-500 aria-[current=page]:bg-sky-100 aria-[current=page]:text-sky-900 dark:text-slate-200 dark:hover:bg-slate-800 dark:aria-[current=page]:bg-sky-950 dark:aria-[current=page]:text-sky-200"
        >
          Fleet overview
        </a>
      </li>
      {COMING_SOON.map((name) => (
        <li key={name}>
          <span aria-disabled="true" title="Coming soon" className="flex cursor-not-allowed items-center justify-between rounded-md px-3 py-1.5 text-slate-400 dark:text-slate-500">
            {name}
            <span className="rounded bg-slate-200 px-1.5 text-[10px] font-semibold tracking-wide text-slate-500 uppercase dark:bg-slate-800 dark:text-slate-400">soon</span>
          </span>
        </li>
      ))}
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

export function Layout({ username, onLogout, active, children }: { username: string; onLogout: () => void; active: "overview" | null; children: ReactNode }) {
  const [menuOpen, setMenuOpen] = useState(false);
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
          <NavLinks active={active} onNavigate={() => undefined} />
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
          <div className="flex items-center gap-2">
            <ThemeToggle />
            <span className="hidden text-sm text-slate-500 sm:inline dark:text-slate-400" data-testid="username">
              {username}
            </span>
            <button type="button" className="btn" onClick={onLogout} data-testid="logout">
              Log out
            </button>
          </div>
        </header>
        {menuOpen && (
          <nav id="mobile-nav" aria-label="Main" className="border-b border-slate-200 bg-slate-100 p-2 md:hidden dark:border-slate-800 dark:bg-slate-900">
            <NavLinks active={active} onNavigate={() => setMenuOpen(false)} />
          </nav>
        )}
        <main id="main" tabIndex={-1} className="flex min-w-0 flex-1 flex-col p-3 outline-none sm:p-4">
          {children}
        </main>
      </div>
    </div>
  );
}
