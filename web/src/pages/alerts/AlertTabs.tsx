// The alerting pages' tabs, under the one "Alerts" entry of the navigation.

import { handleLinkClick } from "../../app/router";

const TABS = [
  { key: "alarms", label: "Alarms", href: "/alarms" },
  { key: "rules", label: "Rules", href: "/alerts/rules" },
  { key: "channels", label: "Channels & routing", href: "/alerts/channels" },
  { key: "silences", label: "Silences & maintenance", href: "/alerts/silences" },
] as const;

export type AlertTab = (typeof TABS)[number]["key"];

export function AlertTabs({ current }: { current: AlertTab }) {
  return (
    <nav aria-label="Alerting" className="flex flex-wrap gap-1 border-b border-slate-200 dark:border-slate-800">
      {TABS.map((t) => (
        <a
          key={t.key}
          href={t.href}
          data-tab={t.key}
          aria-current={current === t.key ? "page" : undefined}
          onClick={(e) => handleLinkClick(e, t.href)}
          className="-mb-px rounded-t-md border-b-2 border-transparent px-3 py-1.5 text-sm font-medium text-slate-600 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-500 aria-[current=page]:border-sky-500 aria-[current=page]:text-sky-800 dark:text-slate-400 dark:hover:text-slate-100 dark:aria-[current=page]:text-sky-300"
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}
