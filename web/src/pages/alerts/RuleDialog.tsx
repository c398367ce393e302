// The rule editor: type-specific fields, scope, timing, labels and the
// summary template, with a live preview of what the condition sees now
// (asked again as the user types) and the server's 422s on their field.

import { useEffect, useState } from "react";
import { ApiError, api } from "../../api/client";
import type { CheckView, PreviewRow, RuleView, Server } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { Checkbox, Field, FormError } from "../../components/Form";
import { DataTable } from "../../components/DataTable";
import { useAction } from "../../hooks/useAction";
import {
  CONDITION_TYPES,
  METRIC_NAMES,
  OPS,
  REPEAT_MAX_S,
  REPEAT_MIN_S,
  SEVERITIES,
  emptyRuleForm,
  formToCondition,
  formToRule,
  formToScope,
  hasRuleErrors,
  previewable,
  ruleFieldError,
  ruleFormFromView,
  validateRuleForm,
  type ConditionType,
  type Op,
  type RuleErrors,
  type RuleField,
  type RuleForm,
  type Severity,
} from "../../lib/alerts";
import { formatLabels } from "../../lib/labels";
import { formatNumber } from "../../lib/format";

const PREVIEW_DEBOUNCE_MS = 400;

export function RuleDialog({
  rule,
  servers,
  checks,
  onClose,
  onSaved,
}: {
  rule?: RuleView;
  servers: readonly Server[];
  checks: readonly CheckView[];
  onClose: () => void;
  onSaved: (rule: RuleView) => void;
}) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleFormFromView(rule) : emptyRuleForm()));
  const [checked, setChecked] = useState(false);
  const [serverErrors, setServerErrors] = useState<RuleErrors>({});
  const save = useAction();

  const localErrors = checked ? validateRuleForm(form) : {};
  const errors: RuleErrors = { ...serverErrors, ...localErrors };
  const error = (field: RuleField) => errors[field] ?? null;
  const set = <K extends RuleField>(field: K, value: RuleForm[K]) => {
    setForm((f) => ({ ...f, [field]: value }));
    setServerErrors((e) => {
      if (!(field in e)) return e;
      const next = { ...e };
      delete next[field];
      return next;
    });
  };
  const input = (field: RuleField) => ({
    value: String(form[field]),
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set(field, e.target.value as never),
  });

  const preview = usePreview(form);
  const t = form.type;
  const hasMetric = t === "threshold" || t === "anomaly" || t === "metric_missing";
  const compares = t === "threshold" || t === "ratio";

  return (
    <Dialog title={rule ? `Edit rule ${rule.name}` : "Add an alert rule"} onClose={onClose} testId="rule-dialog" wide>
      <datalist id="metric-names">
        {METRIC_NAMES.map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      <form
        className="space-y-4"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (hasRuleErrors(validateRuleForm(form))) return;
          const body = formToRule(form);
          const result = await save.run(() => (rule ? api.updateRule(rule.id, body) : api.createRule(body)));
          if (result.ok) onSaved(result.value);
          else if (result.error instanceof ApiError && result.error.status === 422) {
            const { field, text } = ruleFieldError(result.error.message);
            if (field) {
              setServerErrors((c) => ({ ...c, [field]: text }));
              save.reset();
            }
          }
        }}
      >
        <div className="grid gap-3 sm:grid-cols-[1fr_9rem_auto]">
          <Field label="Name" hint="Also the alarm's name, e.g. High CPU." error={error("name")}>
            <input className="input" autoComplete="off" {...input("name")} />
          </Field>
          <Field label="Severity">
            <select className="input" value={form.severity} onChange={(e) => set("severity", e.target.value as Severity)} data-testid="rule-severity">
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <div className="self-end">
            <Checkbox label="Enabled" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
          </div>
        </div>

        <fieldset className="space-y-3 rounded-md border border-slate-200 p-3 dark:border-slate-800">
          <legend className="px-1 text-sm font-semibold">Condition</legend>
          <Field label="Type">
            <select className="input" value={t} onChange={(e) => set("type", e.target.value as ConditionType)} data-testid="rule-type">
              {CONDITION_TYPES.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
          {hasMetric && (
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Metric" hint="See docs/metrics.md; the field suggests names." error={error("metric")}>
                <input className="input font-mono text-xs" list="metric-names" autoComplete="off" spellCheck={false} {...input("metric")} data-testid="rule-metric" />
              </Field>
              <Field label="Series labels (optional)" hint='e.g. mount="/" or device=~"sd.*"' error={error("labels")}>
                <input className="input font-mono text-xs" autoComplete="off" spellCheck={false} {...input("labels")} />
              </Field>
            </div>
          )}
          {t === "ratio" && (
            <>
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Numerator metric" error={error("numMetric")}>
                  <input className="input font-mono text-xs" list="metric-names" autoComplete="off" spellCheck={false} {...input("numMetric")} />
                </Field>
                <Field label="Numerator labels (optional)" error={error("numLabels")}>
                  <input className="input font-mono text-xs" autoComplete="off" spellCheck={false} {...input("numLabels")} />
                </Field>
                <Field label="Denominator metric" error={error("denMetric")}>
                  <input className="input font-mono text-xs" list="metric-names" autoComplete="off" spellCheck={false} {...input("denMetric")} />
                </Field>
                <Field label="Denominator labels (optional)" error={error("denLabels")}>
                  <input className="input font-mono text-xs" autoComplete="off" spellCheck={false} {...input("denLabels")} />
                </Field>
              </div>
              <Field label="Scale" hint="Multiplies the ratio: 100 for percent." error={error("scale")} className="max-w-[10rem]">
                <input className="input" inputMode="decimal" {...input("scale")} />
              </Field>
            </>
          )}
          {compares && (
            <div className="grid gap-3 sm:grid-cols-[7rem_1fr_1fr]">
              <Field label="Is">
                <select className="input" value={form.op} onChange={(e) => set("op", e.target.value as Op)} data-testid="rule-op">
                  {OPS.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              </Field>
              <Field label="Value" error={error("value")}>
                <input className="input" inputMode="decimal" autoComplete="off" {...input("value")} data-testid="rule-value" />
              </Field>
              <Field label="Clears at (optional)" hint="Hysteresis: resolves only past this." error={error("clear")}>
                <input className="input" inputMode="decimal" autoComplete="off" {...input("clear")} />
              </Field>
            </div>
          )}
          {t === "anomaly" && (
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Mode">
                <select className="input" value={form.anomalyMode} onChange={(e) => set("anomalyMode", e.target.value as "simple" | "robust")}>
                  <option value="simple">Simple: above N × the median</option>
                  <option value="robust">Robust: unusual for the time of day</option>
                </select>
              </Field>
              {form.anomalyMode === "simple" ? (
                <Field label="Factor" error={error("factor")}>
                  <input className="input" inputMode="decimal" {...input("factor")} />
                </Field>
              ) : (
                <Field label="Threshold (robust deviations)" error={error("robustThreshold")}>
                  <input className="input" inputMode="decimal" {...input("robustThreshold")} />
                </Field>
              )}
            </div>
          )}
          {t === "host_offline" && (
            <Field label="Offline for (seconds, optional)" hint="Empty: as soon as the server marks it offline." error={error("afterS")}>
              <input className="input" inputMode="numeric" {...input("afterS")} />
            </Field>
          )}
          {t === "metric_missing" && (
            <Field label="Missing for (report intervals)" hint="1 to 1000." error={error("intervals")}>
              <input className="input" inputMode="numeric" {...input("intervals")} />
            </Field>
          )}
          {t === "check_down" && (
            <Field label="Health check" error={error("checkId")}>
              <select className="input" {...input("checkId")}>
                <option value="">Any check</option>
                {checks.map((c) => (
                  <option key={c.id} value={String(c.id)}>
                    {c.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </fieldset>

        <fieldset className="space-y-3">
          <legend className="mb-1 text-sm font-semibold">Hosts</legend>
          <div className="grid gap-3 sm:grid-cols-[12rem_1fr]">
            <Field label="Scope">
              <select className="input" {...input("scopeType")} data-testid="rule-scope">
                <option value="all">All hosts</option>
                <option value="labels">Hosts with labels</option>
                <option value="host">One host</option>
              </select>
            </Field>
            {form.scopeType === "labels" && (
              <Field label="Host labels" hint='e.g. env="prod", role=~"web|api"' error={error("scopeMatchers")}>
                <input className="input font-mono text-xs" autoComplete="off" spellCheck={false} {...input("scopeMatchers")} />
              </Field>
            )}
            {form.scopeType === "host" && (
              <Field label="Host" error={error("scopeHost")}>
                <select className="input" {...input("scopeHost")}>
                  <option value="">Choose…</option>
                  {servers.map((s) => (
                    <option key={s.id} value={String(s.id)}>
                      {s.hostname}
                    </option>
                  ))}
                </select>
              </Field>
            )}
          </div>
        </fieldset>

        <Preview state={preview} />

        <fieldset className="space-y-3">
          <legend className="mb-1 text-sm font-semibold">Notifications</legend>
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="For (seconds)" hint="How long it must hold before firing (0: at once)." error={error("forS")}>
              <input className="input" inputMode="numeric" {...input("forS")} data-testid="rule-for" />
            </Field>
            <Field label="Repeat every (seconds)" hint={`While firing and not acknowledged; ${REPEAT_MIN_S} s to 7 days (${REPEAT_MAX_S}).`} error={error("repeatS")}>
              <input className="input" inputMode="numeric" {...input("repeatS")} />
            </Field>
          </div>
          <Field label="Summary" hint="Template: {{host}}, {{value}}, {{threshold}}, {{rule}}, {{severity}}, {{metric}}, {{labels.<key>}}." error={error("summary")}>
            <input className="input font-mono text-xs" autoComplete="off" spellCheck={false} {...input("summary")} />
          </Field>
          <Field label="Description (optional)" error={error("description")}>
            <textarea className="input text-sm" rows={2} {...input("description")} />
          </Field>
          <Field label="Extra labels (optional)" hint="name=value per line; routing and silences match them, e.g. team=ops." error={error("ruleLabels")}>
            <textarea className="input font-mono text-xs" rows={2} spellCheck={false} {...input("ruleLabels")} />
          </Field>
        </fieldset>

        <FormError error={save.error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.busy} data-testid="rule-save">
            {save.busy ? "Saving…" : rule ? "Save changes" : "Add rule"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type PreviewState = { kind: "off" } | { kind: "loading"; rows?: PreviewRow[] } | { kind: "rows"; rows: PreviewRow[]; compares: boolean } | { kind: "error"; error: unknown };

/** The condition's series now, asked again a moment after each edit. */
function usePreview(form: RuleForm): PreviewState {
  const can = previewable(form);
  const body = can ? JSON.stringify({ condition: formToCondition(form), scope: formToScope(form) }) : null;
  const compares = form.type === "threshold" || form.type === "ratio";
  const [state, setState] = useState<PreviewState>({ kind: "off" });
  useEffect(() => {
    if (body === null) {
      setState({ kind: "off" });
      return;
    }
    const controller = new AbortController();
    setState((s) => ({ kind: "loading", rows: s.kind === "rows" ? s.rows : s.kind === "loading" ? s.rows : undefined }));
    const timer = setTimeout(() => {
      api.previewRule(JSON.parse(body), controller.signal).then(
        (rows) => setState({ kind: "rows", rows, compares }),
        (error: unknown) => {
          if (!controller.signal.aborted) setState({ kind: "error", error });
        },
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [body, compares]);
  return state;
}

function Preview({ state }: { state: PreviewState }) {
  if (state.kind === "off") return null;
  const rows = state.kind === "rows" ? state.rows : state.kind === "loading" ? state.rows : undefined;
  const compares = state.kind === "rows" ? state.compares : true;
  const breaching = rows?.filter((r) => r.breaching).length ?? 0;
  return (
    <section className="space-y-2 rounded-md border border-slate-200 p-3 dark:border-slate-800" data-testid="rule-preview" aria-live="polite" aria-busy={state.kind === "loading"}>
      <h3 className="flex flex-wrap items-center justify-between gap-2 text-sm font-semibold">
        Live preview
        <span className="text-xs font-normal text-slate-500 dark:text-slate-400" data-testid="preview-count">
          {state.kind === "loading" && !rows
            ? "asking…"
            : rows
              ? compares
                ? `${rows.length} series, ${breaching} breaching now`
                : `${rows.length} series`
              : ""}
        </span>
      </h3>
      {state.kind === "error" ? (
        <FormError error={state.error} />
      ) : rows ? (
        <div className="max-h-56 overflow-y-auto">
          <DataTable
            caption="What the condition sees now"
            rows={rows}
            rowKey={(r) => `${r.host_id}:${formatLabels(r.labels)}`}
            rowAttrs={(r) => ({ "data-testid": "preview-row", "data-breaching": String(r.breaching), "data-host": r.hostname })}
            empty="No host reports this metric (with these labels) in this scope."
            columns={[
              { header: "Host", cell: (r) => <span className={r.breaching ? "font-semibold text-rose-700 dark:text-rose-400" : ""}>{r.hostname}</span> },
              { header: "Labels", cell: (r) => <span className="font-mono text-xs">{formatLabels(r.labels)}</span> },
              { header: "Value", numeric: true, cell: (r) => <span className={r.breaching ? "font-semibold text-rose-700 dark:text-rose-400" : ""}>{formatNumber(r.value, 3)}</span> },
              ...(compares ? [{ header: "Now", cell: (r: PreviewRow) => (r.breaching ? <span className="font-semibold text-rose-700 dark:text-rose-400">breaching</span> : "ok") }] : []),
            ]}
          />
        </div>
      ) : null}
    </section>
  );
}
