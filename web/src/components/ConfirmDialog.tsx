import type { ReactNode } from "react";
import { useAction } from "../hooks/useAction";
import { Dialog } from "./Dialog";
import { FormError } from "./Form";

/** "Are you sure?" with the consequence said plainly; the action's error shows in place. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger = false,
  onConfirm,
  onClose,
  testId,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  testId?: string;
}) {
  const { busy, error, run } = useAction();
  return (
    <Dialog title={title} onClose={onClose} testId={testId}>
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(onConfirm);
          if (result.ok) onClose();
        }}
      >
        <div className="text-sm">{children}</div>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          {/* Enter must not destroy anything by accident: a dangerous action starts on Cancel. */}
          <button type="button" className="btn" onClick={onClose} data-autofocus={danger ? "" : undefined}>
            Cancel
          </button>
          <button type="submit" className={`btn ${danger ? "btn-danger" : "btn-primary"}`} disabled={busy} data-autofocus={danger ? undefined : ""}>
            {busy ? "Working…" : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
