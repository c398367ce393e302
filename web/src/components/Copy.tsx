// Copying secrets shown once: a button that copies, and a box that shows the
// value with it. The Clipboard API exists only in secure contexts; a server
// reached over plain HTTP on a LAN gets the older selection-based copy.

import { useEffect, useId, useRef, useState } from "react";

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused: fall back below.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function CopyButton({ text, label = "Copy", className = "" }: { text: string; label?: string; className?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      className={`btn shrink-0 ${className}`}
      onClick={async () => {
        const ok = await copyText(text);
        setState(ok ? "copied" : "failed");
        clearTimeout(timer.current);
        timer.current = setTimeout(() => setState("idle"), 2500);
      }}
    >
      <span aria-live="polite">{state === "copied" ? "Copied" : state === "failed" ? "Select and copy by hand" : label}</span>
    </button>
  );
}

/** A value shown once (a key, a token, a link), selectable, with a copy button. */
export function SecretValue({ label, value, testId, note }: { label: string; value: string; testId?: string; note?: string }) {
  const id = useId();
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <div className="flex items-start gap-2">
        <textarea
          id={id}
          readOnly
          value={value}
          data-testid={testId}
          rows={Math.min(4, Math.max(1, Math.ceil(value.length / 60)))}
          onFocus={(e) => e.currentTarget.select()}
          className="input min-w-0 flex-1 resize-none font-mono text-xs break-all"
        />
        <CopyButton text={value} />
      </div>
      {note && <p className="text-xs text-slate-500 dark:text-slate-400">{note}</p>}
    </div>
  );
}

/** The warning that goes with a secret: it will not be shown again. */
export function ShownOnce() {
  return (
    <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
      Copy it now: it is shown only once and cannot be displayed again.
    </p>
  );
}
