// Administration in the browser against the real server and agent: users
// (with a password, and by invitation), agent keys and enrollment tokens,
// the audit log, tenants and the tenant switcher, two-factor login from My
// account, and what a reporter does not get to see.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiCall, login, RESULTS_DIR, screenshot, setTheme, startStack, totpCode, uiLogin, waitFor, type Stack } from "./harness";

const ECHO_AGENT = `
[[actions]]
name = "echo"
description = "Print a message"
argv = ["/bin/echo", "{msg}"]
timeout_s = 10
[actions.params.msg]
pattern = "[a-z ]+"
`;

const REPORTER = { username: "reporter1", password: "reporter-password-1" };
const INVITEE = { username: "invitee", password: "invitee-password-1" };

let stack: Stack;
let page: Page;
let inviteLink: string;

function nav(name: string) {
  return page.locator(`nav[aria-label="Main"] a[data-nav="${name}"]`).first();
}

beforeAll(async () => {
  stack = await startStack({ agentConfig: ECHO_AGENT });
  page = stack.page;
});

afterEach(async ({ task }) => {
  // What the page looked like when a step failed.
  if (task.result?.state === "fail" && page) await screenshot(page, `failed-${task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
});

afterAll(async () => {
  await stack?.stop();
});

describe("administration", () => {
  it("logs the admin in and offers every admin page", async () => {
    await page.goto(stack.baseUrl + "/");
    await uiLogin(page, "admin", stack.server.password);
    for (const name of ["alerts", "users", "tenants", "keys", "audit"]) expect(await nav(name).count()).toBe(1);
    // Pages still to come stay marked as such.
    expect(await page.locator('nav[aria-label="Main"]').first().getByText("Commands").count()).toBe(1);
  });

  it("creates a reporter with a password", async () => {
    await nav("users").click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page.locator('[data-testid="user-row"][data-username="admin"]').waitFor();
    await page.getByTestId("add-user").click();
    const dialog = page.getByTestId("create-user-dialog");
    // Keyboard users start in the first field, not on the close button.
    await waitFor("focus in the dialog", async () => (await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)) === "username");
    await dialog.getByLabel("Username").fill(REPORTER.username);
    await dialog.getByLabel("Role").selectOption("tenant_reporter");
    await dialog.getByLabel("Set an initial password").check();
    await dialog.getByLabel("Initial password", { exact: true }).fill(REPORTER.password);
    await dialog.getByLabel("Repeat the password", { exact: true }).fill("something else");
    await dialog.getByRole("button", { name: "Create user" }).click();
    await dialog.getByText("The two passwords differ.").waitFor();
    await dialog.getByLabel("Repeat the password", { exact: true }).fill(REPORTER.password);
    await dialog.getByRole("button", { name: "Create user" }).click();
    await page.getByTestId("users-notice").waitFor();
    const row = page.locator(`[data-testid="user-row"][data-username="${REPORTER.username}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Reporter.*active.*off/s);
  });

  it("invites a user and shows the link once", async () => {
    await page.getByTestId("add-user").click();
    const dialog = page.getByTestId("create-user-dialog");
    await dialog.getByLabel("Username").fill(INVITEE.username);
    await dialog.getByLabel("Role").selectOption("tenant_admin");
    await dialog.getByRole("button", { name: "Create and get link" }).click();
    const link = page.getByTestId("invite-link");
    await link.waitFor();
    inviteLink = await link.inputValue();
    await screenshot(page, "users-invite-light");
    expect(inviteLink).toMatch(new RegExp(`^${stack.baseUrl}/invite#lxi_\\d+\\.[0-9a-f]+$`));
    await page.getByTestId("invite-dialog").getByRole("button", { name: "Copy" }).click();
    await page.getByTestId("invite-dialog").getByRole("button", { name: "Done" }).click();
    const row = page.locator(`[data-testid="user-row"][data-username="${INVITEE.username}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/invite pending/);
    // A server error reads as a sentence, not a code.
    await page.getByTestId("add-user").click();
    const again = page.getByTestId("create-user-dialog");
    await again.getByLabel("Username").fill(INVITEE.username);
    await again.getByRole("button", { name: "Create and get link" }).click();
    await again.getByRole("alert").waitFor();
    expect(await again.getByRole("alert").textContent()).toMatch(/409/);
    await page.keyboard.press("Escape");
    await again.waitFor({ state: "detached" });

    await setTheme(page, "light");
    await screenshot(page, "users-light");
    await setTheme(page, "dark");
    await screenshot(page, "users-dark");
    await setTheme(page, "light");
  });

  it("changes a role, disables and enables a user", async () => {
    const row = page.locator(`[data-testid="user-row"][data-username="${INVITEE.username}"]`);
    await row.getByRole("button", { name: "Role…" }).click();
    await page.getByRole("dialog").getByLabel("Role").selectOption("tenant_reporter");
    await page.getByRole("dialog").getByRole("button", { name: "Save role" }).click();
    await expect.poll(() => row.textContent()).toMatch(/Reporter/);
    await row.getByRole("button", { name: "Disable…" }).click();
    // A dangerous confirmation starts on Cancel: Enter alone changes nothing.
    await waitFor("focus on Cancel", async () => (await page.evaluate(() => document.activeElement?.textContent)) === "Cancel");
    await page.getByRole("dialog").getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => row.textContent()).toMatch(/disabled/);
    await row.getByRole("button", { name: "Enable" }).click();
    await expect.poll(() => row.textContent()).toMatch(/invite pending/);
    await row.getByRole("button", { name: "Role…" }).click();
    await page.getByRole("dialog").getByLabel("Role").selectOption("tenant_admin");
    await page.getByRole("dialog").getByRole("button", { name: "Save role" }).click();
    await expect.poll(() => row.textContent()).toMatch(/Tenant admin/);
  });

  it("creates an agent key and an enrollment token and lists them", async () => {
    await nav("keys").click();
    await page.locator('[data-testid="key-row"][data-name="e2e"]').waitFor();
    await page.getByTestId("add-key").click();
    await page.getByRole("dialog").getByLabel("Name").fill("web-1");
    await page.getByRole("dialog").getByRole("button", { name: "Create key" }).click();
    const key = page.getByTestId("new-key");
    await key.waitFor();
    expect(await key.inputValue()).toMatch(/^lxk_[0-9a-f]{16}\./);
    await page.getByTestId("new-key-dialog").getByRole("button", { name: "Done" }).click();
    const keyRow = page.locator('[data-testid="key-row"][data-name="web-1"]');
    await keyRow.waitFor();
    expect(await keyRow.textContent()).toMatch(/not registered yet.*active/s);

    await page.getByTestId("add-token").click();
    const dialog = page.getByTestId("create-token-dialog");
    await dialog.getByLabel("Name").fill("web-fleet");
    await dialog.getByLabel("Max uses").fill("3");
    await dialog.getByLabel("Expires after").selectOption({ label: "7 days" });
    await dialog.getByLabel("Labels").fill("env=prod\nbad label");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await dialog.getByText("Line 2: write it as key=value.").waitFor();
    await dialog.getByLabel("Labels").fill("env=prod\nrole=web");
    await dialog.getByRole("button", { name: "Create token" }).click();
    const command = page.getByTestId("install-command");
    await command.waitFor();
    expect(await command.inputValue()).toMatch(/install\.sh \| sudo sh -s -- --server http:\/\/\S+ --token lxe_/);
    expect(await page.getByTestId("new-token").inputValue()).toMatch(/^lxe_/);
    await page.getByTestId("new-token-dialog").getByRole("button", { name: "Done" }).click();
    const tokenRow = page.locator('[data-testid="token-row"][data-name="web-fleet"]');
    await tokenRow.waitFor();
    expect(await tokenRow.textContent()).toMatch(/env=prod, role=web.*0 \/ 3.*active/s);
    await screenshot(page, "keys-light");
  });

  it("rotates and revokes keys", async () => {
    const keyRow = page.locator('[data-testid="key-row"][data-name="web-1"]');
    await keyRow.getByRole("button", { name: "Rotate…" }).click();
    const rotate = page.getByTestId("rotate-dialog");
    await rotate.getByLabel("Grace period (hours)").fill("2");
    await rotate.getByRole("button", { name: "Rotate key" }).click();
    expect(await page.getByTestId("new-key").inputValue()).toMatch(/^lxk_/);
    await page.getByTestId("new-key-dialog").getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.locator('[data-testid="key-row"][data-name="web-1"]').count()).toBe(2);
    await page.locator('[data-testid="key-row"][data-name="web-1"]').filter({ hasText: "expiring" }).waitFor();
    const active = page.locator('[data-testid="key-row"][data-name="web-1"]').filter({ hasText: "active" });
    await active.getByRole("button", { name: "Revoke…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await page.locator('[data-testid="key-row"][data-name="web-1"]').filter({ hasText: "revoked" }).waitFor();
  });

  it("shows the user creation in the audit log, and filters it", async () => {
    await nav("audit").click();
    const created = page.locator('[data-testid="audit-row"][data-action="user.create"]').filter({ hasText: `user ${REPORTER.username} (tenant_reporter)` });
    await created.waitFor();
    expect(await created.textContent()).toMatch(/admin.*127\.0\.0\.1.*ok \(201\)/s);
    await setTheme(page, "dark");
    await screenshot(page, "audit-dark");
    await setTheme(page, "light");
    await page.getByLabel("Action starts with").fill("agent_key.");
    await page.getByRole("button", { name: "Apply" }).click();
    await waitFor("the filtered log", async () => {
      const actions = await page.locator('[data-testid="audit-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
      return actions.length > 0 && actions.every((a) => a?.startsWith("agent_key."));
    });
    await page.getByLabel("Actor").fill("nobody-at-all");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("No entries match these filters.").waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
    await created.waitFor();

    // More than a page (50): the rest comes with "Load older entries".
    const token = await login(stack.server.url, stack.server.password);
    const users = await apiCall<{ id: number; username: string }[]>(stack.server.url, token, "GET", "/api/users");
    const reporter = users.find((u) => u.username === REPORTER.username)!;
    for (let i = 0; i < 50; i++) await apiCall(stack.server.url, token, "PATCH", `/api/users/${reporter.id}`, { disabled: false });
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.locator('[data-testid="audit-row"]').count()).toBe(50);
    expect(await created.count()).toBe(0);
    await page.getByTestId("audit-older").click();
    await created.waitFor();
    expect(await page.locator('[data-testid="audit-row"]').count()).toBeGreaterThan(50);
    await page.getByText("the end of the log", { exact: false }).waitFor();
  });

  it("creates a tenant, acts inside it with the switcher, and deletes it", async () => {
    await nav("tenants").click();
    await page.getByTestId("add-tenant").click();
    await page.getByRole("dialog").getByLabel("Name").fill("acme");
    await page.getByRole("dialog").getByRole("button", { name: "Create tenant" }).click();
    await page.locator('[data-testid="tenant-row"][data-name="acme"]').waitFor();

    const switcher = page.getByTestId("tenant-switcher");
    await switcher.waitFor();
    await switcher.selectOption({ label: "acme" });
    await page.locator('[data-testid="tenant-row"][data-name="acme"]').getByText("acting here").waitFor();
    await screenshot(page, "tenants-light");
    await nav("users").click();
    // The new tenant has no users: the list was asked for with x-lxmon-tenant.
    await page.getByText("No users yet.").waitFor();
    await nav("overview").click();
    await page.getByText("No host has reported yet.", { exact: false }).waitFor();
    await switcher.selectOption({ label: "default (yours)" });
    await page.locator(`[data-testid="host-row"][data-host="${stack.hostname}"]`).waitFor();

    await nav("tenants").click();
    await page.locator('[data-testid="tenant-row"][data-name="acme"]').getByRole("button", { name: "Delete…" }).click();
    const dialog = page.getByTestId("delete-tenant-dialog");
    const confirm = dialog.getByRole("button", { name: "Delete tenant and its data" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("to confirm").fill("acme");
    await confirm.click();
    await page.getByTestId("tenants-notice").waitFor();
    await expect.poll(() => page.locator('[data-testid="tenant-row"][data-name="acme"]').count()).toBe(0);
  });

  it("accepts an invitation, logging the invited user in", async () => {
    await page.getByTestId("logout").click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.goto(inviteLink);
    await page.getByRole("heading", { name: "Welcome to lxmon" }).waitFor();
    await page.getByLabel("New password").fill(INVITEE.password);
    await page.getByLabel("Repeat the password").fill(INVITEE.password + "x");
    await page.getByRole("button", { name: "Set password and log in" }).click();
    await page.getByText("The two passwords differ.").waitFor();
    await page.getByLabel("Repeat the password").fill(INVITEE.password);
    await page.getByRole("button", { name: "Set password and log in" }).click();
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor();
    expect(await page.getByTestId("username").textContent()).toBe(INVITEE.username);
    expect(new URL(page.url()).hash).toBe("");
  });

  it("turns on two-factor login from My account, and changes the password", async () => {
    await page.getByTestId("username").click();
    await page.getByRole("heading", { name: "My account" }).waitFor();
    await page.getByRole("button", { name: "Set up two-factor login" }).click();
    await page.getByTestId("qr-code").waitFor();
    const secret = await page.getByTestId("totp-secret").inputValue();
    const uri = await page.getByTestId("totp-uri").inputValue();
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(uri).toContain(`secret=${secret}`);
    // The QR code as drawn decodes to the URI (zbar-tools comes with scripts/install-browser.sh).
    const qrPng = join(RESULTS_DIR, "totp-qr.png");
    await page.getByTestId("qr-code").screenshot({ path: qrPng });
    expect(existsSync("/usr/bin/zbarimg")).toBe(true);
    expect(execFileSync("/usr/bin/zbarimg", ["-q", "--raw", qrPng], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()).toBe(uri);
    await page.getByLabel("Code from the app").fill(totpCode(secret) === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Turn on two-factor login" }).click();
    await page.getByTestId("totp-setup").getByRole("alert").waitFor();
    await page.getByLabel("Code from the app").fill(totpCode(secret));
    await page.getByRole("button", { name: "Turn on two-factor login" }).click();
    const codes = page.getByTestId("recovery-codes");
    await codes.waitFor();
    expect(await codes.locator("li").count()).toBeGreaterThan(3);
    await setTheme(page, "dark");
    await screenshot(page, "account-dark");
    await setTheme(page, "light");
    await page.getByRole("button", { name: "I have saved them" }).click();

    const form = page.getByTestId("password-form");
    await form.getByLabel("Current password").fill(INVITEE.password);
    await form.getByLabel("New password", { exact: true }).fill("short");
    await form.getByLabel("Repeat the new password").fill("short");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByText("Use at least 10 characters.").waitFor();
    await form.getByLabel("New password", { exact: true }).fill(INVITEE.password + "-2");
    await form.getByLabel("Repeat the new password").fill(INVITEE.password + "-2");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByText("Password changed.").waitFor();
    // The stored token is the new one: the session goes on.
    await nav("users").click();
    await page.locator(`[data-testid="user-row"][data-username="${INVITEE.username}"]`).waitFor();
    expect(await page.locator(`[data-testid="user-row"][data-username="${INVITEE.username}"] td[data-label="Two-factor"]`).textContent()).toBe("on");
  });

  it("hides admin pages and running commands from a reporter", async () => {
    await page.getByTestId("logout").click();
    await uiLogin(page, REPORTER.username, REPORTER.password);
    for (const name of ["users", "tenants", "keys", "audit"]) expect(await nav(name).count()).toBe(0);
    expect(await nav("account").count()).toBe(1);
    expect(await page.getByTestId("tenant-switcher").count()).toBe(0);

    await page.locator(`[data-testid="host-row"][data-host="${stack.hostname}"]`).click();
    await page.getByTestId("commands").waitFor();
    await waitFor("the reporter's view of commands", async () => (await page.getByTestId("commands-readonly").count()) + (await page.getByTestId("no-actions").count()) > 0);
    expect(await page.getByTestId("command-run").count()).toBe(0);
    expect(await page.getByTestId("command-form").count()).toBe(0);

    await page.goto(stack.baseUrl + "/users");
    await page.getByRole("heading", { name: "Not available" }).waitFor();
    // The server agrees: the API refuses the reporter.
    const token = await login(stack.server.url, REPORTER.password, REPORTER.username);
    await expect(apiCall(stack.server.url, token, "GET", "/api/users")).rejects.toThrow(/403/);
  });

  it("keeps the users page usable on a phone", async () => {
    await page.getByTestId("logout").click();
    await uiLogin(page, "admin", stack.server.password);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Menu" }).click();
    await page.locator('#mobile-nav a[data-nav="users"]').click();
    await page.locator(`[data-testid="user-row"][data-username="${REPORTER.username}"]`).waitFor();
    await screenshot(page, "users-phone-light");
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
