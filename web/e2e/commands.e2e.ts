// Remote commands from the server page, against the real server and a real
// agent whose config file allowlists actions: arguments checked in the
// browser, a confirmation, the output streamed into the panel, the final
// status, cancelling, and the history.

import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RESULTS_DIR, screenshot, setTheme, startStack, uiLogin, waitFor, type Stack } from "./harness";
import { join } from "node:path";

const AGENT_CONFIG = `
[[actions]]
name = "echo"
description = "Print a message"
argv = ["/bin/echo", "{msg}"]
timeout_s = 10
[actions.params.msg]
pattern = "[a-z ]+"

[[actions]]
name = "sleep"
description = "Wait, then say so"
argv = ["/bin/sh", "-c", "echo started; sleep \\"$0\\"; echo woke", "{seconds}"]
timeout_s = 60
[actions.params.seconds]
pattern = "[0-9]{1,2}"
description = "seconds to wait"
`;

let stack: Stack;
let page: Page;

async function status(): Promise<string | null> {
  return page.getByTestId("command-status").locator("[data-status]").getAttribute("data-status");
}

async function chooseAction(name: string) {
  await page.getByTestId("command-action").selectOption(name);
}

beforeAll(async () => {
  stack = await startStack({ agentConfig: AGENT_CONFIG });
  page = stack.page;
  await page.goto(stack.baseUrl + "/");
  await uiLogin(page, "admin", stack.server.password);
});

afterEach(async ({ task }) => {
  // What the page looked like when a step failed.
  if (task.result?.state === "fail" && page) await screenshot(page, `failed-${task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
});

afterAll(async () => {
  await stack?.stop();
});

describe("command runner", () => {
  it("offers the actions the host's agent announced", async () => {
    await page.goto(`${stack.baseUrl}/servers/${stack.hostId}`);
    await page.getByTestId("commands").waitFor();
    const form = page.getByTestId("command-form");
    await form.waitFor({ timeout: 15_000 }).catch(async () => {
      throw new Error(`no command form; the card says: ${await page.getByTestId("commands").innerText()}\nagent log: ${stack.agent.log()}`);
    });
    const options = await page.getByTestId("command-action").locator("option").allTextContents();
    expect(options).toEqual(["echo", "sleep"]);
  });

  it("refuses an invalid argument in the browser, sending nothing", async () => {
    const posts: string[] = [];
    const onRequest = (r: { method: () => string; url: () => string }) => {
      if (r.method() === "POST" && r.url().includes("/command")) posts.push(r.url());
    };
    page.on("request", onRequest);
    await chooseAction("echo");
    await page.getByLabel("msg").fill("Bad!");
    await page.getByTestId("command-run").click();
    await page.getByTestId("command-invalid").waitFor();
    expect(await page.getByTestId("command-form").getByTestId("field-error").textContent()).toBe("msg must match [a-z ]+");
    expect(await page.getByTestId("command-confirm").count()).toBe(0);
    page.off("request", onRequest);
    expect(posts).toEqual([]);
  });

  it("runs echo after a confirmation and streams its output into the panel", async () => {
    const streamed: string[] = [];
    await page.exposeFunction("lxmonE2eChunk", (chunk: string) => streamed.push(chunk));
    // Listen to the same event stream the page uses, to see the chunk travel by it.
    await page.evaluate(() => {
      const session = JSON.parse(localStorage.getItem("lxmon.session") ?? "{}") as { token?: string };
      const es = new EventSource(`/api/events?token=${encodeURIComponent(session.token ?? "")}`);
      es.addEventListener("command", (e) => {
        const data = JSON.parse((e as MessageEvent<string>).data) as { output: string };
        if (data.output) void (window as unknown as { lxmonE2eChunk: (c: string) => void }).lxmonE2eChunk(data.output);
      });
      (window as unknown as { lxmonE2eSource: EventSource }).lxmonE2eSource = es;
    });

    await page.getByLabel("msg").fill("hello from the ui");
    await page.getByTestId("command-run").click();
    const confirm = page.getByTestId("command-confirm");
    await confirm.waitFor();
    expect(await page.getByTestId("command-question").textContent()).toBe(`Run echo on ${stack.hostname} with msg="hello from the ui"?`);
    await confirm.getByRole("button", { name: "Run echo" }).click();

    const output = page.getByTestId("command-output");
    await expect.poll(() => output.textContent(), { timeout: 20_000 }).toContain("hello from the ui");
    await expect.poll(status, { timeout: 20_000 }).toBe("succeeded");
    // The exit code and duration come with the full record, fetched once the command is over.
    await expect.poll(() => page.getByTestId("command-exit").textContent(), { timeout: 10_000 }).toBe("exit 0");
    await expect.poll(() => page.getByTestId("command-duration").textContent(), { timeout: 10_000 }).toMatch(/^\d+ ms$|^\d+(\.\d)? s$/);
    expect(streamed.join("")).toContain("hello from the ui");
    await page.evaluate(() => (window as unknown as { lxmonE2eSource: EventSource }).lxmonE2eSource.close());

    const row = page.locator('[data-testid="command-row"][data-current="true"]');
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 10_000 }).toBe("succeeded");
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toMatch(/echo.*msg="hello from the ui".*succeeded.*exit 0.*admin/s);

    // The whole card, title included.
    const commands = page.locator("section", { has: page.getByTestId("commands") }).last();
    await commands.scrollIntoViewIfNeeded();
    await setTheme(page, "light");
    await commands.screenshot({ path: join(RESULTS_DIR, "commands-light.png") });
    await setTheme(page, "dark");
    await commands.screenshot({ path: join(RESULTS_DIR, "commands-dark.png") });
    await screenshot(page, "detail-commands-dark");
    await setTheme(page, "light");
  });

  it("cancels a running command", async () => {
    await chooseAction("sleep");
    await page.getByLabel("seconds").fill("30");
    await page.getByTestId("command-run").click();
    await page.getByTestId("command-confirm").getByRole("button", { name: "Run sleep" }).click();
    await expect.poll(status, { timeout: 20_000 }).toBe("running");
    await expect.poll(() => page.getByTestId("command-output").textContent(), { timeout: 10_000 }).toContain("started");
    await page.getByTestId("command-cancel").click();
    await expect.poll(status, { timeout: 20_000 }).toBe("cancelled");
    expect(await page.getByTestId("command-cancel").count()).toBe(0);
  });

  it("shows the output of an earlier command from the history", async () => {
    await page.getByRole("button", { name: "Close the output" }).click();
    await page.getByTestId("command-panel").waitFor({ state: "detached" });
    const echoRow = page.locator('[data-testid="command-row"]').filter({ hasText: "hello from the ui" });
    await echoRow.getByRole("button", { name: /View output/ }).click();
    await expect.poll(() => page.getByTestId("command-output").textContent()).toContain("hello from the ui");
    expect(await status()).toBe("succeeded");
  });

  it("still shows the output when the event stream is down (polling)", async () => {
    await page.route("**/api/events**", (route) => route.abort());
    await page.reload();
    await page.getByTestId("command-form").waitFor();
    await page.getByTestId("query-note").filter({ hasText: "polling" }).waitFor();
    await chooseAction("echo");
    await page.getByLabel("msg").fill("polled output");
    await page.getByTestId("command-run").click();
    await page.getByTestId("command-confirm").getByRole("button", { name: "Run echo" }).click();
    await expect.poll(() => page.getByTestId("command-output").textContent(), { timeout: 20_000 }).toContain("polled output");
    await expect.poll(status, { timeout: 20_000 }).toBe("succeeded");
    await page.unroute("**/api/events**");
  });

  it("stays usable on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await waitFor("the command form", async () => (await page.getByTestId("command-form").count()) > 0);
    const card = page.locator("section", { has: page.getByTestId("commands") }).last();
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: join(RESULTS_DIR, "commands-phone-light.png") });
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
