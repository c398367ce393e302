// Remote commands on one host: pick one of the actions its agent allows,
// fill in its parameters (checked against their patterns here, and again by
// the server and the agent), confirm, and watch the output arrive. Below,
// the host's recent commands.

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { CommandEvent } from "../../api/events";
import type { ActionSpec, Server } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useLiveEvents, useStreamConnected } from "../../hooks/useLiveEvents";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { applyEvent, applyRecord, describeOutcome, formatDurationMs, isFinal, startLive, statusLabel, statusTone, type LiveCommand } from "../../lib/commands";
import { formatDateTime } from "../../lib/format";
import { checkArgs, confirmQuestion, describeArgs } from "../../lib/params";

const HISTORY_LIMIT = 20;
/** Command events of this host kept to replay for a command whose id is not known yet. */
const EVENT_BUFFER = 500;

export function CommandsCard({ host }: { host: Server }) {
  const me = useMe();
  const canRun = isTenantAdmin(me.role);
  const actions = host.actions ?? [];
  const history = useResource(`commands-${host.id}`, (signal) => api.commandHistory(host.id, { limit: HISTORY_LIMIT }, signal));
  const [live, setLive] = useState<LiveCommand | null>(null);
  const streamConnected = useStreamConnected();
  const recent = useRef<CommandEvent[]>([]);
  const historyTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(historyTimer.current), []);

  const { reload: reloadHistory, mutate: mutateHistory } = history;
  const refreshHistorySoon = useCallback(() => {
    if (historyTimer.current !== undefined) return;
    historyTimer.current = setTimeout(() => {
      historyTimer.current = undefined;
      reloadHistory();
    }, 500);
  }, [reloadHistory]);

  useLiveEvents((event) => {
    if (event.type !== "command" || event.data.host_id !== host.id) return;
    const data = event.data;
    // Events can beat the answer to the POST that created the command: keep them to replay.
    recent.current.push(data);
    if (recent.current.length > EVENT_BUFFER) recent.current.splice(0, recent.current.length - EVENT_BUFFER);
    setLive((l) => (l ? applyEvent(l, data) : l));
    let known = false;
    mutateHistory((list) =>
      list?.map((c) => {
        if (c.id !== data.command_id) return c;
        known = true;
        return c.status === data.status ? c : { ...c, status: data.status };
      }),
    );
    if (!known || isFinal(data.status)) refreshHistorySoon();
  });

  // The full record (every chunk, exit code, duration) once the command is
  // over; while the stream is down, every second until it is.
  const liveId = live?.command.id;
  const liveFinal = live ? isFinal(live.command.status) : false;
  const liveComplete = live?.complete ?? false;
  const fetchedFinal = useRef<number | null>(null);
  useEffect(() => {
    if (liveId === undefined || !liveFinal || liveComplete || fetchedFinal.current === liveId) return;
    fetchedFinal.current = liveId;
    const controller = new AbortController();
    api.commandStatus(liveId, controller.signal).then(
      (record) => setLive((l) => (l ? applyRecord(l, record) : l)),
      () => undefined,
    );
    return () => controller.abort();
  }, [liveId, liveFinal, liveComplete]);
  useEffect(() => {
    if (liveId === undefined || liveFinal) return;
    const controller = new AbortController();
    const refresh = () =>
      api.commandStatus(liveId, controller.signal).then(
        (record) => setLive((l) => (l ? applyRecord(l, record) : l)),
        () => undefined,
      );
    // Back from an outage: catch up on what the stream missed.
    if (streamConnected) {
      void refresh();
      return () => controller.abort();
    }
    const timer = setInterval(refresh, 1000);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [liveId, liveFinal, streamConnected]);
  // Without the stream, the history is polled too.
  useEffect(() => {
    if (streamConnected) return;
    const timer = setInterval(reloadHistory, 5000);
    return () => clearInterval(timer);
  }, [streamConnected, reloadHistory]);

  async function run(action: string, args: Record<string, string>) {
    const command = await api.runCommand(host.id, { action, args });
    let next = startLive(command);
    for (const e of recent.current) next = applyEvent(next, e);
    fetchedFinal.current = null;
    setLive(next);
    reloadHistory();
  }

  const view = useAction();
  async function show(id: number) {
    const result = await view.run(() => api.commandStatus(id));
    if (result.ok) {
      fetchedFinal.current = null;
      setLive(applyRecord(startLive(result.value), result.value));
    }
  }

  const cancel = useAction();

  return (
    <Card title="Commands" className="lg:col-span-2">
      <div className="space-y-4" data-testid="commands">
        {actions.length === 0 ? (
          <NoActions />
        ) : canRun ? (
          <RunForm host={host} actions={actions} onRun={run} />
        ) : (
          <p className="text-sm text-slate-500 dark:text-slate-400" data-testid="commands-readonly">
            This host allows {actions.length === 1 ? "one action" : `${actions.length} actions`} ({actions.map((a) => a.name).join(", ")}). Running them needs the tenant admin role; you can see the history below.
          </p>
        )}
        {live && (
          <>
            <CommandPanel
              live={live}
              canCancel={canRun}
              cancelling={cancel.busy}
              onCancel={async () => {
                const result = await cancel.run(() => api.cancelCommand(live.command.id));
                if (result.ok) setLive((l) => (l ? applyRecord(l, result.value) : l));
              }}
              onClose={() => setLive(null)}
            />
            <FormError error={cancel.error} />
          </>
        )}
        <div>
          <h3 className="mb-1 text-sm font-semibold text-slate-700 dark:text-slate-200">Recent commands</h3>
          <FormError error={view.error} />
          {history.error != null && !history.data ? (
            <ErrorPanel title="The command history could not be loaded" error={history.error} onRetry={history.reload} />
          ) : !history.data ? (
            <Loading label="Loading the history…" />
          ) : (
            <DataTable
              caption={`Recent commands on ${host.hostname}`}
              rows={history.data}
              rowKey={(c) => c.id}
              stack
              rowAttrs={(c) => ({ "data-testid": "command-row", "data-command": String(c.id), "data-status": c.status, "data-current": c.id === live?.command.id ? "true" : undefined })}
              empty="No commands have run on this host."
              columns={[
                { header: "When", cell: (c) => formatDateTime(c.created_at) },
                { header: "Action", cell: (c) => <span className="font-mono text-xs">{c.action}</span> },
                { header: "Arguments", cell: (c) => <span className="block max-w-xs truncate font-mono text-xs" title={describeArgs(c.args)}>{Object.keys(c.args).length ? describeArgs(c.args) : "—"}</span> },
                { header: "Status", cell: (c) => <Badge tone={statusTone(c.status)}>{statusLabel(c.status)}</Badge> },
                { header: "Result", cell: (c) => describeOutcome(c) },
                { header: "Duration", numeric: true, cell: (c) => formatDurationMs(c.duration_ms) },
                { header: "By", cell: (c) => c.created_by },
                {
                  header: "Output",
                  cell: (c) => (
                    <button type="button" className="btn btn-sm" onClick={() => show(c.id)} aria-label={`View output of command ${c.id} (${c.action})`}>
                      View
                    </button>
                  ),
                },
              ]}
            />
          )}
        </div>
      </div>
    </Card>
  );
}

function NoActions() {
  return (
    <div className="space-y-2 text-sm" data-testid="no-actions">
      <p>
        This host&apos;s agent allows no commands. Actions are declared on the host itself, in the agent&apos;s config file (<code className="font-mono text-xs">/etc/lxmon/agent.toml</code>), as{" "}
        <code className="font-mono text-xs">[[actions]]</code> tables — see <code className="font-mono text-xs">deploy/agent.example.toml</code> — then the agent is restarted. For example:
      </p>
      <pre className="overflow-x-auto rounded-md bg-slate-100 p-3 font-mono text-xs dark:bg-slate-800">{`[[actions]]
name = "unit-status"
description = "Show a systemd service's status"
argv = ["/usr/bin/systemctl", "status", "--no-pager", "--", "{unit}"]
timeout_s = 30
[actions.params.unit]
pattern = "[a-zA-Z0-9_@:][a-zA-Z0-9_@:.\\\\-]*\\\\.service"
description = "service unit, e.g. nginx.service"`}</pre>
    </div>
  );
}

function RunForm({ host, actions, onRun }: { host: Server; actions: ActionSpec[]; onRun: (action: string, args: Record<string, string>) => Promise<void> }) {
  const [name, setName] = useState(actions[0]!.name);
  const action = actions.find((a) => a.name === name) ?? actions[0]!;
  const params = action.params ?? [];
  const [values, setValues] = useState<Record<string, string>>({});
  const [submitted, setSubmitted] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const args = Object.fromEntries(params.map((p) => [p.name, values[p.name] ?? ""]));
  const errors = checkArgs(action, args);
  const invalid = Object.keys(errors).length > 0;

  function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    if (!invalid) setConfirming(true);
  }

  // The confirmation is a sibling of the form, never inside it: a form within a form is invalid HTML.
  return (
    <>
      <form className="space-y-3" onSubmit={submit} noValidate data-testid="command-form">
        <div className="grid gap-3 sm:grid-cols-[minmax(0,16rem)_1fr]">
          <Field label="Action">
            <select
              className="input"
              data-testid="command-action"
              value={action.name}
              onChange={(e) => {
                setName(e.target.value);
                setValues({});
                setSubmitted(false);
              }}
            >
              {actions.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </Field>
          <p className="self-end pb-1.5 text-sm text-slate-600 dark:text-slate-300">
            {action.description || "No description."} <span className="text-slate-500 dark:text-slate-400">Stopped after {action.timeout_s} s.</span>
          </p>
        </div>
        {params.length > 0 && (
          <div className="grid gap-3 sm:grid-cols-2">
            {params.map((p) => (
              <Field
                key={`${action.name}-${p.name}`}
                label={p.name}
                hint={
                  <>
                    {p.description ? `${p.description} · ` : ""}must match <code className="font-mono">{p.pattern}</code>
                  </>
                }
                // Shown from the first attempt to run on (not on blur: a message
                // appearing then would move the Run button under the pointer).
                error={submitted && errors[p.name] ? errors[p.name] : null}
              >
                <input
                  className="input font-mono"
                  name={p.name}
                  data-param={p.name}
                  autoComplete="off"
                  spellCheck={false}
                  value={values[p.name] ?? ""}
                  onChange={(e) => setValues((v) => ({ ...v, [p.name]: e.target.value }))}
                />
              </Field>
            ))}
          </div>
        )}
        {submitted && invalid && (
          <p role="alert" className="text-sm text-rose-700 dark:text-rose-400" data-testid="command-invalid">
            Fix the highlighted {Object.keys(errors).length === 1 ? "argument" : "arguments"}: nothing was sent.
          </p>
        )}
        <button type="submit" className="btn btn-primary" data-testid="command-run">
          Run…
        </button>
      </form>
      {confirming && (
        <ConfirmDialog
          title="Run this command?"
          confirmLabel={`Run ${action.name}`}
          testId="command-confirm"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            await onRun(action.name, args);
            setSubmitted(false);
          }}
        >
          <p className="font-medium break-words" data-testid="command-question">
            {confirmQuestion(action.name, host.hostname, args)}
          </p>
          <p className="mt-2 text-slate-500 dark:text-slate-400">It runs as the agent&apos;s user and is stopped after {action.timeout_s} s. It is recorded in the audit log.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function CommandPanel({ live, canCancel, cancelling, onCancel, onClose }: { live: LiveCommand; canCancel: boolean; cancelling: boolean; onCancel: () => void; onClose: () => void }) {
  const { command, output } = live;
  const final = isFinal(command.status);
  const now = useNow(final ? 60_000 : 1000);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [output]);
  const elapsed = final ? (command.duration_ms != null ? formatDurationMs(command.duration_ms) : null) : command.started_at ? `${formatDurationMs(now - command.started_at)} so far` : null;
  return (
    <section aria-label={`Command ${command.id}: ${command.action}`} className="rounded-md border border-slate-200 dark:border-slate-700" data-testid="command-panel" data-command={command.id}>
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-700">
        <div className="flex min-w-0 flex-wrap items-center gap-x-3 gap-y-1 text-sm">
          <span className="font-mono font-semibold">{command.action}</span>
          <span className="truncate font-mono text-xs text-slate-500 dark:text-slate-400">{describeArgs(command.args)}</span>
          <span role="status" aria-live="polite" className="flex items-center gap-2">
            <Badge tone={statusTone(command.status)} testId="command-status">
              <span data-status={command.status}>{statusLabel(command.status)}</span>
            </Badge>
          </span>
          {/* Between the final event and the full record, the exit code is not known yet. */}
          {final && (live.complete || command.exit_code != null || command.error) && <span data-testid="command-exit">{describeOutcome(command)}</span>}
          {elapsed && <span className="text-slate-500 tabular-nums dark:text-slate-400" data-testid="command-duration">{elapsed}</span>}
        </div>
        <div className="flex gap-2">
          {canCancel && !final && (
            <button type="button" className="btn btn-sm" onClick={onCancel} disabled={cancelling} data-testid="command-cancel">
              {cancelling ? "Cancelling…" : "Cancel command"}
            </button>
          )}
          <button type="button" className="btn btn-sm" onClick={onClose} aria-label="Close the output">
            Close
          </button>
        </div>
      </header>
      <pre ref={pre} role="log" aria-label="Output" tabIndex={0} data-testid="command-output" className="max-h-96 min-h-[4rem] overflow-auto bg-slate-950 p-3 font-mono text-xs whitespace-pre-wrap text-slate-100 focus-visible:outline-2 focus-visible:outline-sky-500">
        {output || (final ? "(no output)" : "Waiting for output…")}
      </pre>
      <footer className="flex flex-wrap gap-x-4 gap-y-1 px-3 py-1.5 text-xs text-slate-500 dark:text-slate-400">
        <span>
          #{command.id} by {command.created_by}, {formatDateTime(command.created_at, { nowMs: now })}
        </span>
        {command.truncated && <span className="text-amber-700 dark:text-amber-400">Output was cut at the agent&apos;s limit.</span>}
        {command.error && <span className="text-rose-700 dark:text-rose-400">{command.error}</span>}
        {command.status === "pending" && <span>Waiting for the agent to pick it up (it polls continuously; an offline host never will, and the command expires after 10 min).</span>}
      </footer>
    </section>
  );
}
