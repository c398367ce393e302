// What an admin does with an alarm: acknowledge it (with a comment) or take
// the acknowledgement back, assign it, and silence it for a while.

import { useState } from "react";
import { api } from "../../api/client";
import type { Alert, SilenceView } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { FilterButtons } from "../../components/FilterButtons";
import { Field, FormError } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { SILENCE_DURATIONS, formatMatchers, parseMatchers, silenceEnd, toLocalInput, toWire, type Matcher, type SilenceDuration } from "../../lib/alerts";

export function AckDialog({ alert, onClose, onDone }: { alert: Pick<Alert, "id" | "name">; onClose: () => void; onDone: (alert: Alert) => void }) {
  const [comment, setComment] = useState("");
  const { busy, error, run } = useAction();
  return (
    <Dialog title={`Acknowledge ${alert.name}`} onClose={onClose} testId="ack-dialog">
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.ackAlert(alert.id, { ack: true, comment: comment.trim() === "" ? null : comment.trim() }));
          if (result.ok) onDone(result.value);
        }}
      >
        <p className="text-sm text-slate-600 dark:text-slate-300">Repeat notifications stop while it is acknowledged; it still resolves by itself.</p>
        <Field label="Comment (optional)" hint="What is being done, for the others.">
          <textarea className="input" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="ack-confirm">
            {busy ? "Working…" : "Acknowledge"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function AssignDialog({ alert, onClose, onDone }: { alert: Pick<Alert, "id" | "name" | "assignee">; onClose: () => void; onDone: (alert: Alert) => void }) {
  const users = useResource("users", (signal) => api.users(signal));
  const [assignee, setAssignee] = useState(alert.assignee ?? "");
  const { busy, error, run } = useAction();
  return (
    <Dialog title={`Assign ${alert.name}`} onClose={onClose} testId="assign-dialog">
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.assignAlert(alert.id, assignee === "" ? null : assignee));
          if (result.ok) onDone(result.value);
        }}
      >
        <Field label="Assignee" error={users.error ? "The users could not be loaded." : null}>
          <select className="input" value={assignee} onChange={(e) => setAssignee(e.target.value)} data-testid="assignee">
            <option value="">Nobody</option>
            {users.data
              ?.filter((u) => !u.disabled)
              .map((u) => (
                <option key={u.id} value={u.username}>
                  {u.username}
                </option>
              ))}
          </select>
        </Field>
        <FormError error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Working…" : "Assign"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A new silence: prefilled from an alarm ("silence this"), or empty on the silences page. */
export function SilenceDialog({ initial = [], onClose, onCreated }: { initial?: readonly Matcher[]; onClose: () => void; onCreated: (silence: SilenceView) => void }) {
  const [matchers, setMatchers] = useState(() => formatMatchers(initial));
  const [duration, setDuration] = useState<SilenceDuration>("1h");
  const [custom, setCustom] = useState(() => toLocalInput(Date.now() + 2 * 86_400_000));
  const [comment, setComment] = useState("");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const parsed = parseMatchers(matchers);
  const matcherError = parsed.error ?? (parsed.matchers.length === 0 ? 'At least one matcher, e.g. alertname="High CPU".' : null);
  const end = silenceEnd(Date.now(), duration, custom);
  return (
    <Dialog title="Silence alarms" onClose={onClose} testId="silence-dialog" wide>
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          const ends = silenceEnd(Date.now(), duration, custom);
          if (matcherError || "error" in ends) return;
          const result = await run(() => api.createSilence({ matchers: toWire(parsed.matchers), ends_at: ends.endsAt, comment: comment.trim() }));
          if (result.ok) onCreated(result.value);
        }}
      >
        <Field label="Matchers" hint='Alarms whose labels match all of them are not notified: name="value", != , =~ (regex), !~.' error={checked ? matcherError : null}>
          <input className="input font-mono text-xs" spellCheck={false} autoComplete="off" value={matchers} onChange={(e) => setMatchers(e.target.value)} data-testid="silence-matchers" />
        </Field>
        <div className="space-y-1 text-sm">
          <p className="font-medium">For</p>
          <FilterButtons label="Duration" options={SILENCE_DURATIONS} value={duration} onChange={setDuration} testId="silence-duration" />
        </div>
        {duration === "custom" && (
          <Field label="Until" error={checked && "error" in end ? end.error : null}>
            <input className="input w-auto" type="datetime-local" value={custom} onChange={(e) => setCustom(e.target.value)} />
          </Field>
        )}
        {"endsAt" in end && <p className="text-xs text-slate-500 dark:text-slate-400">Ends {new Date(end.endsAt).toLocaleString()}.</p>}
        <Field label="Comment" hint="Why, for whoever wonders where the notifications went.">
          <input className="input" value={comment} onChange={(e) => setComment(e.target.value)} data-testid="silence-comment" />
        </Field>
        <FormError error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="silence-save">
            {busy ? "Working…" : "Silence"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
