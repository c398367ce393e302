import { Badge, type BadgeTone } from "../../components/Badge";
import { severityTone } from "../../lib/alerts";

const STATE_TONES: Record<string, BadgeTone> = { firing: "danger", pending: "warning", resolved: "success" };

/** An alarm's state as a pill: firing, pending, resolved. */
export function AlarmStateBadge({ state }: { state: string }) {
  return (
    <span data-state={state} data-testid="alarm-state">
      <Badge tone={STATE_TONES[state] ?? "neutral"}>{state}</Badge>
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <Badge tone={severityTone(severity)}>{severity}</Badge>;
}
