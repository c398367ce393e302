// Notification channels (email, Slack, Teams, Telegram, WhatsApp, webhook)
// with "Send test", and the routing that decides which channels an alarm
// goes to: ordered routes by severity and labels, then the defaults.

import { useState } from "react";
import { ApiError, api } from "../../api/client";
import type { ChannelTestResult, ChannelView } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Checkbox, Field, FormError, Notice, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import {
  CHANNEL_KINDS,
  SECRET_FIELD,
  channelFieldError,
  channelFormFromView,
  channelTarget,
  emptyChannelForm,
  formToChannelInput,
  hasStoredSecret,
  type ChannelField,
  type ChannelForm,
  type ChannelKind,
} from "../../lib/alerts";
import { AlertTabs } from "./AlertTabs";
import { RoutingCard } from "./RoutingCard";

type Open = { kind: "create" } | { kind: "edit"; channel: ChannelView } | { kind: "delete"; channel: ChannelView } | null;

export function ChannelsPage() {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const channels = useResource("channels", (signal) => api.channels(signal));
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<number, { busy: boolean; result?: ChannelTestResult; error?: unknown }>>({});
  const close = () => setOpen(null);
  const { reload } = channels;

  const sendTest = async (c: ChannelView) => {
    setTests((t) => ({ ...t, [c.id]: { busy: true } }));
    try {
      const result = await api.testChannel(c.id);
      setTests((t) => ({ ...t, [c.id]: { busy: false, result } }));
    } catch (error) {
      setTests((t) => ({ ...t, [c.id]: { busy: false, error } }));
    }
  };

  return (
    <div className="space-y-3">
      <PageHeader
        title="Channels & routing"
        description="Where notifications go, and which alarms go where."
        actions={
          admin && (
            <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-channel">
              Add channel
            </button>
          )
        }
      />
      <AlertTabs current="channels" />
      {notice && <Notice testId="channels-notice">{notice}</Notice>}
      <Card title="Channels">
        {channels.error != null && !channels.data ? (
          <ErrorPanel title="The channels could not be loaded" error={channels.error} onRetry={reload} />
        ) : !channels.data ? (
          <Loading label="Loading channels…" />
        ) : (
          <DataTable
            caption="Notification channels"
            rows={channels.data}
            rowKey={(c) => c.id}
            stack
            wrap
            rowAttrs={(c) => ({ "data-testid": "channel-row", "data-name": c.name })}
            empty={admin ? "No channels yet. Add one, then choose it in the routing below." : "No channels yet."}
            columns={[
              { header: "Name", cell: (c) => <span className="font-medium">{c.name}</span> },
              { header: "Kind", cell: (c) => CHANNEL_KINDS.find((k) => k.key === c.kind)?.label ?? c.kind },
              { header: "Delivers to", cell: (c) => <span className="block max-w-[20rem] truncate font-mono text-xs" title={channelTarget(c)}>{channelTarget(c)}</span> },
              { header: "Resolved", cell: (c) => (c.send_resolved ? "sent" : "not sent") },
              ...(admin
                ? [
                    {
                      header: "Actions",
                      cell: (c: ChannelView) => {
                        const test = tests[c.id];
                        return (
                          <div className="space-y-1">
                            <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for channel ${c.name}`}>
                              <button type="button" className="btn btn-sm" onClick={() => sendTest(c)} disabled={test?.busy} data-testid="channel-test">
                                {test?.busy ? "Sending…" : "Send test"}
                              </button>
                              <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "edit", channel: c })}>
                                Edit…
                              </button>
                              <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", channel: c })}>
                                Delete…
                              </button>
                            </div>
                            {test?.result && (
                              <p role="status" data-testid="channel-test-result" data-sent={String(test.result.sent)} className="text-xs">
                                {test.result.sent ? (
                                  <Badge tone="success">sent{test.result.attempts > 1 ? ` after ${test.result.attempts} attempts` : ""}</Badge>
                                ) : (
                                  <span className="text-rose-700 dark:text-rose-400">failed: {test.result.error}</span>
                                )}
                              </p>
                            )}
                            {test?.error != null && <FormError error={test.error} />}
                          </div>
                        );
                      },
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      <RoutingCard channels={channels.data ?? []} admin={admin} />
      {(open?.kind === "create" || open?.kind === "edit") && (
        <ChannelDialog
          channel={open.kind === "edit" ? open.channel : undefined}
          onClose={close}
          onSaved={(c) => {
            setNotice(open.kind === "edit" ? `Channel ${c.name} is saved.` : `Channel ${c.name} is added. Send a test, and choose it in the routing.`);
            reload();
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete channel ${open.channel.name}?`}
          confirmLabel="Delete channel"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteChannel(open.channel.id);
            setNotice(`Channel ${open.channel.name} is deleted.`);
            reload();
          }}
        >
          Routes that use it stop sending there.
        </ConfirmDialog>
      )}
    </div>
  );
}

function ChannelDialog({ channel, onClose, onSaved }: { channel?: ChannelView; onClose: () => void; onSaved: (c: ChannelView) => void }) {
  const [form, setForm] = useState<ChannelForm>(() => (channel ? channelFormFromView(channel) : emptyChannelForm()));
  const [errors, setErrors] = useState<Partial<Record<ChannelField, string>>>({});
  const save = useAction();
  const keepsSecret = channel !== undefined && hasStoredSecret(channel) && channel.kind === form.kind;
  const set = <K extends ChannelField>(field: K, value: ChannelForm[K]) => {
    setForm((f) => ({ ...f, [field]: value }));
    setErrors((e) => (field in e ? { ...e, [field]: undefined } : e));
  };
  const input = (field: ChannelField) => ({
    value: String(form[field]),
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set(field, e.target.value as never),
  });
  const secretHint = (base: string) => (keepsSecret ? "••• set, leave empty to keep" : base);
  const f = (field: ChannelField) => errors[field] ?? null;
  const secret = SECRET_FIELD[form.kind];

  return (
    <Dialog title={channel ? `Edit channel ${channel.name}` : "Add a notification channel"} onClose={onClose} testId="channel-dialog" wide>
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (!keepsSecret && form[secret] === "" && form.kind !== "email" && form.kind !== "webhook") {
            setErrors({ [secret]: "Required." });
            return;
          }
          const body = formToChannelInput(form);
          const result = await save.run(() => (channel ? api.updateChannel(channel.id, body) : api.createChannel(body)));
          if (result.ok) onSaved(result.value);
          else if (result.error instanceof ApiError && result.error.status === 422) {
            const { field, text } = channelFieldError(result.error.message);
            if (field) {
              setErrors((c) => ({ ...c, [field]: text }));
              save.reset();
            }
          }
        }}
      >
        <div className="grid gap-3 sm:grid-cols-[1fr_12rem]">
          <Field label="Name" error={f("name")}>
            <input className="input" autoComplete="off" {...input("name")} />
          </Field>
          <Field label="Kind">
            <select className="input" value={form.kind} onChange={(e) => set("kind", e.target.value as ChannelKind)} data-testid="channel-kind">
              {CHANNEL_KINDS.map((k) => (
                <option key={k.key} value={k.key}>
                  {k.label}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {form.kind === "email" && (
          <>
            <div className="grid gap-3 sm:grid-cols-[1fr_7rem_9rem]">
              <Field label="SMTP host" error={f("host")}>
                <input className="input font-mono text-xs" autoComplete="off" {...input("host")} />
              </Field>
              <Field label="Port" error={f("port")}>
                <input className="input" inputMode="numeric" {...input("port")} />
              </Field>
              <Field label="Security">
                <select className="input" {...input("security")}>
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS</option>
                  <option value="none">None</option>
                </select>
              </Field>
            </div>
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Username (optional)" error={f("username")}>
                <input className="input" autoComplete="off" {...input("username")} />
              </Field>
              <Field label="Password" hint={secretHint("Optional.")} error={f("password")}>
                <input className="input" type="password" autoComplete="new-password" {...input("password")} />
              </Field>
              <Field label="From" error={f("from")}>
                <input className="input" autoComplete="off" placeholder="lxmon@example.com" {...input("from")} />
              </Field>
              <Field label="To" hint="Addresses, separated by commas." error={f("to")}>
                <input className="input" autoComplete="off" {...input("to")} />
              </Field>
            </div>
          </>
        )}
        {(form.kind === "slack" || form.kind === "teams") && (
          <Field label="Webhook URL" hint={secretHint(form.kind === "slack" ? "The incoming webhook's URL (https://hooks.slack.com/…)." : "The Workflows webhook's URL.")} error={f("webhookUrl")}>
            <input className="input font-mono text-xs" type="password" autoComplete="off" {...input("webhookUrl")} />
          </Field>
        )}
        {form.kind === "telegram" && (
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Bot token" hint={secretHint("From @BotFather.")} error={f("botToken")}>
              <input className="input font-mono text-xs" type="password" autoComplete="off" {...input("botToken")} />
            </Field>
            <Field label="Chat id" error={f("chatId")}>
              <input className="input font-mono text-xs" autoComplete="off" {...input("chatId")} />
            </Field>
          </div>
        )}
        {form.kind === "whatsapp" && (
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Access token" hint={secretHint("A Cloud API token.")} error={f("accessToken")}>
              <input className="input font-mono text-xs" type="password" autoComplete="off" {...input("accessToken")} />
            </Field>
            <Field label="Phone number id" error={f("phoneNumberId")}>
              <input className="input font-mono text-xs" autoComplete="off" {...input("phoneNumberId")} />
            </Field>
            <Field label="To" hint="Numbers in international form, separated by commas." error={f("to")}>
              <input className="input" autoComplete="off" {...input("to")} />
            </Field>
          </div>
        )}
        {(form.kind === "telegram" || form.kind === "whatsapp") && (
          <Field label="API base (optional)" hint="For a proxy; empty: the public API." error={f("apiBase")}>
            <input className="input font-mono text-xs" autoComplete="off" {...input("apiBase")} />
          </Field>
        )}
        {form.kind === "webhook" && (
          <>
            <Field label="URL" hint="Alarms are POSTed here as JSON." error={f("url")}>
              <input className="input font-mono text-xs" type="url" autoComplete="off" spellCheck={false} {...input("url")} data-testid="channel-url" />
            </Field>
            <Field label="Signing secret (optional)" hint={secretHint("Signs each body: X-Lxmon-Signature: sha256=<HMAC>.")} error={f("secret")}>
              <input className="input font-mono text-xs" type="password" autoComplete="off" {...input("secret")} />
            </Field>
            <Field label="Headers (optional)" hint="One “Name: value” per line." error={f("headers")}>
              <textarea className="input font-mono text-xs" rows={2} spellCheck={false} {...input("headers")} />
            </Field>
          </>
        )}
        <Checkbox label="Also notify when alarms resolve" checked={form.sendResolved} onChange={(e) => set("sendResolved", e.target.checked)} />
        <FormError error={save.error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.busy} data-testid="channel-save">
            {save.busy ? "Saving…" : channel ? "Save changes" : "Add channel"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
