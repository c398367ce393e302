// Alert rules: what each one watches in a line, its severity and scope, on
// or off; admins add, edit (with a live preview), switch off and delete.

import { useMemo, useState } from "react";
import { api } from "../../api/client";
import type { RuleView } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Notice, PageHeader } from "../../components/Form";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { ruleSummary, scopeOf, scopeSummary } from "../../lib/alerts";
import { useHostnames } from "../checks/useHostnames";
import { SeverityBadge } from "./AlarmBadges";
import { AlertTabs } from "./AlertTabs";
import { RuleDialog } from "./RuleDialog";

type Open = { kind: "create" } | { kind: "edit"; rule: RuleView } | { kind: "delete"; rule: RuleView } | null;

export function RulesPage() {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const rules = useResource("alert-rules", (signal) => api.rules(signal));
  const checks = useResource("checks", (signal) => api.checks(signal));
  const { servers, hostnames } = useHostnames();
  const checkNames = useMemo(() => new Map(checks.data?.map((c) => [c.id, c.name])), [checks.data]);
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const close = () => setOpen(null);
  const { reload } = rules;

  return (
    <div className="space-y-3">
      <PageHeader
        title="Alert rules"
        description="Conditions on metrics, hosts and health checks that raise alarms."
        actions={
          admin && (
            <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-rule">
              Add rule
            </button>
          )
        }
      />
      <AlertTabs current="rules" />
      {notice && <Notice testId="rules-notice">{notice}</Notice>}
      <Card>
        {rules.error != null && !rules.data ? (
          <ErrorPanel title="The rules could not be loaded" error={rules.error} onRetry={reload} />
        ) : !rules.data ? (
          <Loading label="Loading rules…" />
        ) : (
          <DataTable
            caption="Alert rules"
            rows={[...rules.data].sort((a, b) => a.name.localeCompare(b.name))}
            rowKey={(r) => r.id}
            stack
            wrap
            rowAttrs={(r) => ({ "data-testid": "rule-row", "data-name": r.name, "data-enabled": String(r.enabled ?? true) })}
            empty={admin ? "No rules yet. Add one to be told when a metric crosses a line, a host goes offline or a check fails." : "No rules yet."}
            columns={[
              { header: "Name", cell: (r) => <span className="font-medium">{r.name}</span> },
              {
                header: "Condition",
                cell: (r) => (
                  <span className="font-mono text-xs" data-testid="rule-summary">
                    {ruleSummary(r, checkNames)}
                  </span>
                ),
              },
              { header: "Severity", cell: (r) => <SeverityBadge severity={r.severity} /> },
              { header: "Scope", cell: (r) => <span className="text-xs">{scopeSummary(scopeOf(r), hostnames)}</span> },
              { header: "Enabled", cell: (r) => ((r.enabled ?? true) ? <Badge tone="success">on</Badge> : <Badge>off</Badge>) },
              ...(admin
                ? [
                    {
                      header: "Actions",
                      cell: (r: RuleView) => (
                        <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for rule ${r.name}`}>
                          <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "edit", rule: r })}>
                            Edit…
                          </button>
                          <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", rule: r })}>
                            Delete…
                          </button>
                        </div>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      {(open?.kind === "create" || open?.kind === "edit") && (
        <RuleDialog
          rule={open.kind === "edit" ? open.rule : undefined}
          servers={servers}
          checks={checks.data ?? []}
          onClose={close}
          onSaved={(saved) => {
            setNotice(open.kind === "edit" ? `Rule ${saved.name} is saved.` : `Rule ${saved.name} is added.`);
            reload();
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete rule ${open.rule.name}?`}
          confirmLabel="Delete rule"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteRule(open.rule.id);
            setNotice(`Rule ${open.rule.name} is deleted.`);
            reload();
          }}
        >
          Its open alarms resolve; nothing more is raised by it.
        </ConfirmDialog>
      )}
    </div>
  );
}
