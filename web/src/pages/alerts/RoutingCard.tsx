// Routing: the ordered routes (severities, label matchers, channels, and
// whether to keep looking after a match), then the default channels for
// alarms no route takes.

import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { ChannelView, Routing } from "../../api/types";
import { Card } from "../../components/Card";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Checkbox, Field, FormError, Notice } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { SEVERITIES, formToRouting, moveItem, routeFormsOf, toggled, type RouteForm } from "../../lib/alerts";

export function RoutingCard({ channels, admin }: { channels: readonly ChannelView[]; admin: boolean }) {
  const routing = useResource("alert-routing", (signal) => api.routing(signal));
  const [defaults, setDefaults] = useState<number[]>([]);
  const [routes, setRoutes] = useState<RouteForm[]>([]);
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const load = (r: Routing) => {
    setDefaults([...(r.default_channels ?? [])]);
    setRoutes(routeFormsOf(r));
    setDirty(false);
  };
  useEffect(() => {
    if (routing.data) load(routing.data);
  }, [routing.data]);

  const edit = () => {
    setDirty(true);
    setSaved(false);
  };
  const setRoute = (i: number, patch: Partial<RouteForm>) => {
    setRoutes((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    edit();
  };

  if (routing.error != null && !routing.data) return <ErrorPanel title="The routing could not be loaded" error={routing.error} onRetry={routing.reload} />;
  if (!routing.data) return <Loading label="Loading the routing…" />;
  const name = (id: number) => channels.find((c) => c.id === id)?.name ?? `#${id}`;

  const channelBoxes = (selected: number[], onChange: (next: number[]) => void, testId: string) =>
    channels.length === 0 ? (
      <p className="text-sm text-slate-500 dark:text-slate-400">No channels yet.</p>
    ) : (
      <div className="flex flex-wrap gap-x-4" data-testid={testId}>
        {channels.map((c) => (
          <Checkbox key={c.id} label={c.name} checked={selected.includes(c.id)} onChange={(e) => onChange(toggled(selected, c.id, e.target.checked))} />
        ))}
      </div>
    );

  if (!admin) {
    return (
      <Card title="Routing">
        <ol className="list-decimal space-y-1 pl-5 text-sm">
          {routes.map((r, i) => (
            <li key={i}>
              {r.severities.length ? r.severities.join(", ") : "any severity"}
              {r.matchers ? ` with ${r.matchers}` : ""} → {r.channels.map(name).join(", ")}
              {r.continue ? " (then keep looking)" : ""}
            </li>
          ))}
        </ol>
        <p className="mt-2 text-sm">Otherwise: {defaults.length ? defaults.map(name).join(", ") : "nowhere"}.</p>
      </Card>
    );
  }

  return (
    <Card title="Routing">
      <form
        className="space-y-3"
        data-testid="routing"
        onSubmit={async (e) => {
          e.preventDefault();
          const built = formToRouting(defaults, routes);
          if ("error" in built) {
            save.setError(built.error);
            return;
          }
          const result = await save.run(() => api.putRouting(built.routing));
          if (result.ok) {
            load(result.value);
            setSaved(true);
          }
        }}
      >
        <p className="text-sm text-slate-600 dark:text-slate-300">An alarm goes to the first route that matches it (and on to later ones while “keep looking” is set); alarms no route takes go to the default channels.</p>
        {routes.map((r, i) => (
          <fieldset key={i} className="space-y-2 rounded-md border border-slate-200 p-3 dark:border-slate-800" data-testid="route">
            <legend className="px-1 text-sm font-semibold">Route {i + 1}</legend>
            <div className="flex flex-wrap items-center gap-x-4">
              <span className="text-sm font-medium">Severities (none: any)</span>
              {SEVERITIES.map((s) => (
                <Checkbox key={s} label={s} checked={r.severities.includes(s)} onChange={(e) => setRoute(i, { severities: toggled(r.severities, s, e.target.checked) })} />
              ))}
            </div>
            <Field label="Label matchers (optional)" hint='e.g. team="db", host=~"web-.*"'>
              <input className="input font-mono text-xs" spellCheck={false} value={r.matchers} onChange={(e) => setRoute(i, { matchers: e.target.value })} />
            </Field>
            <div className="text-sm">
              <p className="font-medium">Channels</p>
              {channelBoxes(r.channels, (next) => setRoute(i, { channels: next }), "route-channels")}
            </div>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <Checkbox label="Keep looking at later routes" checked={r.continue} onChange={(e) => setRoute(i, { continue: e.target.checked })} />
              <div className="flex gap-1">
                <button type="button" className="btn btn-sm" disabled={i === 0} onClick={() => (setRoutes((rs) => moveItem(rs, i, -1)), edit())} aria-label={`Move route ${i + 1} up`}>
                  ↑
                </button>
                <button type="button" className="btn btn-sm" disabled={i === routes.length - 1} onClick={() => (setRoutes((rs) => moveItem(rs, i, 1)), edit())} aria-label={`Move route ${i + 1} down`}>
                  ↓
                </button>
                <button type="button" className="btn btn-sm" onClick={() => (setRoutes((rs) => rs.filter((_, j) => j !== i)), edit())}>
                  Remove
                </button>
              </div>
            </div>
          </fieldset>
        ))}
        <button type="button" className="btn btn-sm" onClick={() => (setRoutes((rs) => [...rs, { severities: [], matchers: "", channels: [], continue: false }]), edit())} data-testid="add-route">
          Add route
        </button>
        <div className="text-sm">
          <p className="font-medium">Default channels</p>
          {channelBoxes(
            defaults,
            (next) => {
              setDefaults(next);
              edit();
            },
            "default-channels",
          )}
        </div>
        <FormError error={save.error} />
        {saved && !dirty && <Notice testId="routing-saved">The routing is saved.</Notice>}
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" disabled={!dirty} onClick={() => load(routing.data!)}>
            Discard changes
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.busy || !dirty} data-testid="routing-save">
            {save.busy ? "Saving…" : "Save routing"}
          </button>
        </div>
      </form>
    </Card>
  );
}
