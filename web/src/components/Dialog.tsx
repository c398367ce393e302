// A modal dialog on the native <dialog>: the browser traps focus, Escape
// closes it, and what was focused before gets focus back.

import { useEffect, useId, useRef, type ReactNode } from "react";

export function Dialog({ title, onClose, children, testId, wide = false }: { title: ReactNode; onClose: () => void; children: ReactNode; testId?: string; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    // showModal focuses the first focusable element, the close button; start
    // where the work is instead: a marked element, the first field, or the
    // last button (the dialog's main action).
    const body = dialog.querySelector<HTMLElement>("[data-dialog-body]");
    const target =
      body?.querySelector<HTMLElement>("[data-autofocus]") ??
      body?.querySelector<HTMLElement>("input:not([readonly]):not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([readonly]):not([disabled])") ??
      [...(body?.querySelectorAll<HTMLElement>("button:not([disabled])") ?? [])].pop();
    target?.focus();
    const onNativeClose = () => close.current();
    dialog.addEventListener("close", onNativeClose);
    return () => {
      dialog.removeEventListener("close", onNativeClose);
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      data-testid={testId}
      className={`m-auto w-[calc(100%-1.5rem)] ${wide ? "max-w-2xl" : "max-w-md"} rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100`}
    >
      <div className="flex items-start justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <h2 id={titleId} className="text-base font-semibold">
          {title}
        </h2>
        <button type="button" className="btn px-2 py-0.5" aria-label="Close" onClick={() => ref.current?.close()}>
          <span aria-hidden="true">✕</span>
        </button>
      </div>
      <div className="space-y-3 p-4" data-dialog-body>
        {children}
      </div>
    </dialog>
  );
}
