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
    expect(parseRoute("/alarms")).toEqual({ page: "coming-soon", name: "alarms" });
    expect(parseRoute("/servers/12")).toEqual({ page: "server", id: 12 });
    expect(parseRoute("/checks")).toEqual({ page: "checks" });
    expect(parseRoute("/checks/7/")).toEqual({ page: "check", id: 7 });
    expect(parseRoute("/checks/x")).toEqual({ page: "not-found", path: "/checks/x" });
    expect(parseRoute("/")).toEqual({ page: "overview" });
    expect(parseRoute("/nope")).toEqual({ page: "not-found", path: "/nope" });
  });
});
