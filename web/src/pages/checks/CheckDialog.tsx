// The check editor: type-specific fields checked in the browser as the
// server would, the server's 422s put on their field, and "Test now", which
// runs the definition once from the server without saving it.

import { useState } from "react";
import { ApiError, api } from "../../api/client";
import type { CheckView, Server, TestOutcome } from "../../api/types";
import { Badge } from "../../components/Badge";
import { Dialog } from "../../components/Dialog";
import { Checkbox, Field, FormError } from "../../components/Form";
import { StatusBadge } from "../../components/StatusBadge";
import { useAction } from "../../hooks/useAction";
import {
  CHECK_TYPES,
  HTTP_METHODS,
  INTERVAL_MAX_S,
  INTERVAL_MIN_S,
  PING_COUNT_MAX,
  RECORD_TYPES,
  RETRIES_MAX,
  emptyForm,
  formFromCheck,
  formToInput,
  hasErrors,
  serverFieldError,
  validateCheckForm,
  type CheckForm,
  type CheckType,
  type FormErrors,
  type FormField,
  type RecordType,
} from "../../lib/checks";
import { formatLatency, formatNumber } from "../../lib/format";

/** Fields under "More HTTP options": opened when one of them has something to say. */
const ADVANCED_HTTP: readonly FormField[] = ["maxLatencyMs", "certWarnDays", "followRedirects", "insecure", "headers", "authUser", "authPassword"];

export function CheckDialog({ check, servers, onClose, onSaved }: { check?: CheckView; servers: readonly Server[]; onClose: () => void; onSaved: (check: CheckView) => void }) {
  const [form, setForm] = useState<CheckForm>(() => (check ? formFromCheck(check) : emptyForm()));
  // Problems show once the user tries to test or save, then follow the typing.
  const [checked, setChecked] = useState(false);
  const [serverErrors, setServerErrors] = useState<FormErrors>({});
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  const [advanced, setAdvanced] = useState(() => check !== undefined && ADVANCED_HTTP.some((f) => form[f] !== emptyForm()[f]));
  const save = useAction();
  const test = useAction();

  const localErrors = checked ? validateCheckForm(form) : {};
  const errors: FormErrors = { ...serverErrors, ...localErrors };
  const error = (field: FormField) => errors[field] ?? null;

  const set = <K extends FormField>(field: K, value: CheckForm[K]) => {
    setForm((f) => ({ ...f, [field]: value }));
    setServerErrors((e) => {
      if (!(field in e)) return e;
      const next = { ...e };
      delete next[field];
      return next;
    });
    setOutcome(null);
  };
  const input = (field: FormField) => ({
    value: String(form[field]),
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set(field, e.target.value as never),
  });
  const toggle = (field: "keywordAbsent" | "followRedirects" | "insecure" | "enabled") => ({
    checked: form[field],
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => set(field, e.target.checked),
  });

  /** Checks the form; false (and the problems shown) when it cannot be sent. */
  const ready = (): boolean => {
    setChecked(true);
    const problems = validateCheckForm(form);
    if (ADVANCED_HTTP.some((f) => problems[f])) setAdvanced(true);
    return !hasErrors(problems);
  };

  /** A 422 goes to its field when the server named one; anything else to the form. */
  const placeServerError = (e: unknown): boolean => {
    if (!(e instanceof ApiError) || e.status !== 422) return false;
    const { field, text } = serverFieldError(e.message);
    if (!field) return false;
    setServerErrors((current) => ({ ...current, [field]: text }));
    if (ADVANCED_HTTP.includes(field)) setAdvanced(true);
    return true;
  };

  const runTest = async () => {
    setOutcome(null);
    if (!ready()) return;
    const result = await test.run(() => api.testCheck(formToInput(form)));
    if (result.ok) setOutcome(result.value);
    else if (placeServerError(result.error)) test.reset();
  };

  const runOnHost = form.runOn === "" ? null : servers.find((s) => String(s.id) === form.runOn);

  return (
    <Dialog title={check ? `Edit check ${check.name}` : "Add a health check"} onClose={onClose} testId="check-dialog" wide>
      <form
        className="space-y-4"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (!ready()) return;
          const body = formToInput(form);
          const result = await save.run(() => (check ? api.updateCheck(check.id, body) : api.createCheck(body)));
          if (result.ok) onSaved(result.value);
          else if (placeServerError(result.error)) save.reset();
        }}
      >
        <div className="grid gap-3 sm:grid-cols-[1fr_12rem]">
          <Field label="Name" hint="What people will call it, e.g. Shop front page." error={error("name")}>
            <input className="input" autoComplete="off" {...input("name")} />
          </Field>
          <Field label="Type">
            <select className="input" value={form.type} onChange={(e) => set("type", e.target.value as CheckType)} data-testid="check-type">
              {CHECK_TYPES.map((t) => (
                <option key={t.key} value={t.key}>
                  {t.label}
                </option>
              ))}
            </select>
          </Field>
        </div>

        <fieldset className="space-y-3" data-testid={`check-fields-${form.type}`}>
          <legend className="sr-only">What to check</legend>
          {form.type === "http" && (
            <>
              <Field label="URL" hint="http:// or https://; HTTPS also watches the certificate's expiry." error={error("url")}>
                <input className="input font-mono" type="url" inputMode="url" autoComplete="off" spellCheck={false} {...input("url")} />
              </Field>
              <div className="grid gap-3 sm:grid-cols-[10rem_1fr]">
                <Field label="Method" error={error("method")}>
                  <select className="input" {...input("method")}>
                    {HTTP_METHODS.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </Field>
                <Field label="Expected status" hint="Statuses or ranges, e.g. 200-299, 301." error={error("expectedStatus")}>
                  <input className="input font-mono" autoComplete="off" spellCheck={false} {...input("expectedStatus")} />
                </Field>
              </div>
              <div className="grid items-end gap-3 sm:grid-cols-[1fr_auto]">
                <Field label="Keyword (optional)" hint="Text the page must contain (case-sensitive)." error={error("keyword")}>
                  <input className="input" autoComplete="off" {...input("keyword")} />
                </Field>
                <Checkbox label="must NOT appear" {...toggle("keywordAbsent")} />
              </div>
              <details open={advanced} onToggle={(e) => setAdvanced(e.currentTarget.open)} className="rounded-md border border-slate-200 px-3 py-2 dark:border-slate-800">
                <summary className="cursor-pointer text-sm font-medium">More HTTP options</summary>
                <div className="mt-3 space-y-3">
                  <div className="grid gap-3 sm:grid-cols-2">
                    <Field label="Max response time (ms)" hint="Slower counts as down. Empty: no limit." error={error("maxLatencyMs")}>
                      <input className="input" inputMode="numeric" autoComplete="off" {...input("maxLatencyMs")} />
                    </Field>
                    <Field label="Certificate warning (days)" hint="Warn when it expires sooner. Empty: never." error={error("certWarnDays")}>
                      <input className="input" inputMode="numeric" autoComplete="off" {...input("certWarnDays")} />
                    </Field>
                  </div>
                  <div className="flex flex-wrap gap-x-5 gap-y-2">
                    <Checkbox label="Follow redirects" {...toggle("followRedirects")} />
                    <Checkbox label="Accept any certificate (self-signed, wrong name)" {...toggle("insecure")} />
                  </div>
                  <Field label="Request headers" hint="One “Name: value” per line." error={error("headers")}>
                    <textarea className="input font-mono text-xs" rows={2} spellCheck={false} placeholder="Accept: text/html" {...input("headers")} />
                  </Field>
                  <div className="grid gap-3 sm:grid-cols-2">
                    <Field label="Basic auth user" error={error("authUser")}>
                      <input className="input" autoComplete="off" {...input("authUser")} />
                    </Field>
                    <Field label="Basic auth password" error={error("authPassword")}>
                      <input className="input" type="password" autoComplete="new-password" {...input("authPassword")} />
                    </Field>
                  </div>
                </div>
              </details>
            </>
          )}
          {(form.type === "tcp" || form.type === "ping") && (
            <div className="grid gap-3 sm:grid-cols-[1fr_10rem]">
              <Field label="Host" hint="A host name or an IP address." error={error("host")}>
                <input className="input font-mono" autoComplete="off" spellCheck={false} {...input("host")} />
              </Field>
              {form.type === "tcp" ? (
                <Field label="Port" hint="1–65535" error={error("port")}>
                  <input className="input" inputMode="numeric" autoComplete="off" {...input("port")} />
                </Field>
              ) : (
                <Field label="Echo requests" hint={`1–${PING_COUNT_MAX}`} error={error("count")}>
                  <input className="input" inputMode="numeric" autoComplete="off" {...input("count")} />
                </Field>
              )}
            </div>
          )}
          {form.type === "dns" && (
            <>
              <div className="grid gap-3 sm:grid-cols-[1fr_10rem]">
                <Field label="Name to look up" error={error("dnsName")}>
                  <input className="input font-mono" autoComplete="off" spellCheck={false} placeholder="example.com" {...input("dnsName")} />
                </Field>
                <Field label="Record type">
                  <select className="input" value={form.recordType} onChange={(e) => set("recordType", e.target.value as RecordType)}>
                    {RECORD_TYPES.map((t) => (
                      <option key={t}>{t}</option>
                    ))}
                  </select>
                </Field>
              </div>
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Expected answer (optional)" hint="One answer must match, e.g. 192.0.2.10 or 10 mx.example.com." error={error("expected")}>
                  <input className="input font-mono" autoComplete="off" spellCheck={false} {...input("expected")} />
                </Field>
                <Field label="Resolver (optional)" hint="ip or ip:port; empty: the system's." error={error("resolver")}>
                  <input className="input font-mono" autoComplete="off" spellCheck={false} {...input("resolver")} />
                </Field>
              </div>
            </>
          )}
        </fieldset>

        <fieldset className="space-y-3">
          <legend className="mb-1 text-sm font-semibold">Schedule</legend>
          <div className="grid gap-3 sm:grid-cols-3">
            <Field label="Every (seconds)" hint={`${INTERVAL_MIN_S} s to 1 day (${INTERVAL_MAX_S}).`} error={error("intervalS")}>
              <input className="input" inputMode="numeric" autoComplete="off" {...input("intervalS")} />
            </Field>
            <Field label="Timeout (seconds)" hint="At most 60 and the interval." error={error("timeoutS")}>
              <input className="input" inputMode="numeric" autoComplete="off" {...input("timeoutS")} />
            </Field>
            <Field label="Retries" hint={`Failures in a row tolerated before down (0–${RETRIES_MAX}).`} error={error("retries")}>
              <input className="input" inputMode="numeric" autoComplete="off" {...input("retries")} />
            </Field>
          </div>
          <div className="grid items-end gap-3 sm:grid-cols-[1fr_auto]">
            <Field label="Runs on" hint={runOnHost ? `The agent of ${runOnHost.hostname} runs it, from inside its network.` : "The server runs it."} error={error("runOn")}>
              <select className="input" {...input("runOn")} data-testid="check-run-on">
                <option value="">Server</option>
                {servers.map((s) => (
                  <option key={s.id} value={String(s.id)}>
                    Agent on {s.hostname}
                  </option>
                ))}
              </select>
            </Field>
            <Checkbox label="Enabled" {...toggle("enabled")} />
          </div>
        </fieldset>

        <TestResult outcome={outcome} busy={test.busy} error={test.error} runsOnAgent={runOnHost !== null && runOnHost !== undefined} />
        <FormError error={save.error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn" onClick={runTest} disabled={test.busy} data-testid="check-test">
            {test.busy ? "Testing…" : "Test now"}
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.busy} data-testid="check-save">
            {save.busy ? "Saving…" : check ? "Save changes" : "Add check"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** What "Test now" found: up or down, how fast, the certificate, and why. */
function TestResult({ outcome, busy, error, runsOnAgent }: { outcome: TestOutcome | null; busy: boolean; error: unknown; runsOnAgent: boolean }) {
  if (busy) {
    return (
      <p role="status" className="text-sm text-slate-500 dark:text-slate-400">
        Running the check once…
      </p>
    );
  }
  if (error) return <FormError error={error} />;
  if (!outcome) return null;
  return (
    <div
      role="status"
      data-testid="test-outcome"
      data-up={String(outcome.up)}
      className={`space-y-1 rounded-md border px-3 py-2 text-sm ${
        outcome.up ? "border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/40" : "border-rose-300 bg-rose-50 dark:border-rose-900 dark:bg-rose-950/40"
      }`}
    >
      <p className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <span className="font-semibold">Test result:</span>
        <StatusBadge state={outcome.up ? "up" : "down"} />
        {outcome.latency_ms !== null && outcome.latency_ms !== undefined && <span data-testid="test-latency">{formatLatency(outcome.latency_ms)}</span>}
        {outcome.cert_days_left !== null && outcome.cert_days_left !== undefined && (
          <Badge tone={outcome.cert_warning ? "warning" : "neutral"}>certificate: {formatNumber(outcome.cert_days_left, 0)} days left</Badge>
        )}
      </p>
      {outcome.error && <p className="break-words text-rose-800 dark:text-rose-300">{outcome.error}</p>}
      {outcome.detail && <p className="break-words text-xs text-slate-600 dark:text-slate-400">{outcome.detail}</p>}
      {runsOnAgent && <p className="text-xs text-slate-500 dark:text-slate-400">Tested from the server; the agent may see the target differently.</p>}
    </div>
  );
}
