import { describe, expect, it } from "vitest";
import { parseRoute } from "./router";

describe("parseRoute", () => {
  it("knows the admin and account pages", () => {
    for (const page of ["users", "tenants", "keys", "audit", "account", "invite"]) {
      expect(parseRoute(`/${page}`)).toEqual({ page });
      expect(parseRoute(`/${page}/`)).toEqual({ page });
    }
  });

  it("keeps later pages as coming soon, and the rest as before", () => {
    expect(parseRoute("/commands")).toEqual({ page: "coming-soon", name: "commands" });
    expect(parseRoute("/servers/12")).toEqual({ page: "server", id: 12 });
    expect(parseRoute("/checks")).toEqual({ page: "checks" });
    expect(parseRoute("/checks/7/")).toEqual({ page: "check", id: 7 });
    expect(parseRoute("/checks/x")).toEqual({ page: "not-found", path: "/checks/x" });
    expect(parseRoute("/")).toEqual({ page: "overview" });
    expect(parseRoute("/nope")).toEqual({ page: "not-found", path: "/nope" });
  });

  it("knows the alerting pages", () => {
    expect(parseRoute("/alarms")).toEqual({ page: "alarms" });
    expect(parseRoute("/alerts/")).toEqual({ page: "alarms" });
    expect(parseRoute("/alarms/42")).toEqual({ page: "alarm", id: 42 });
    expect(parseRoute("/alerts/rules")).toEqual({ page: "alert-rules" });
    expect(parseRoute("/alerts/channels/")).toEqual({ page: "alert-channels" });
    expect(parseRoute("/alerts/silences")).toEqual({ page: "alert-silences" });
    expect(parseRoute("/alerts/nope")).toEqual({ page: "not-found", path: "/alerts/nope" });
  });
});
