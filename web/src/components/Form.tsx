// Form pieces shared by the admin pages: a labelled field with its hint and
// error tied to the input for screen readers, a form-level error, a notice.

import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";
import { errorMessage } from "../api/client";

type InputProps = { id?: string; "aria-describedby"?: string; "aria-invalid"?: boolean };

/** A label above one input; `hint` and `error` are read out with it. */
export function Field({ label, hint, error, children, className = "" }: { label: ReactNode; hint?: ReactNode; error?: string | null; children: ReactElement<InputProps>; className?: string }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  const input = isValidElement(children) ? cloneElement(children, { id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined }) : children;
  return (
    <div className={`text-sm ${className}`}>
      <label htmlFor={id} className="mb-1 block font-medium">
        {label}
      </label>
      {input}
      {hint && (
        <p id={hintId} className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="mt-1 text-xs text-rose-700 dark:text-rose-400" data-testid="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** A checkbox with its label beside it. */
export function Checkbox({ label, checked, onChange, testId }: { label: ReactNode; checked: boolean; onChange: (e: React.ChangeEvent<HTMLInputElement>) => void; testId?: string }) {
  return (
    <label className="flex items-center gap-2 py-1.5 text-sm">
      <input type="checkbox" className="accent-sky-600" checked={checked} onChange={onChange} data-testid={testId} />
      {label}
    </label>
  );
}

/** A failed submission, in words. */
export function FormError({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <p role="alert" className="rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-sm text-rose-900 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200">
      {typeof error === "string" ? error : errorMessage(error)}
    </p>
  );
}

export function Notice({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p role="status" data-testid={testId} className="rounded-md border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-200">
      {children}
    </p>
  );
}

/** The title row of a page: heading, a line of explanation, and actions at the right. */
export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-xl font-semibold tracking-tight">{title}</h1>
        {description && <p className="text-sm text-slate-500 dark:text-slate-400">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}
