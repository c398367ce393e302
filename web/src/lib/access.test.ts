import { describe, expect, it } from "vitest";
import { grantableRoles, isPlatformAdmin, isTenantAdmin, navEntries } from "./access";

describe("access", () => {
  it("knows who administers a tenant", () => {
    expect(isTenantAdmin("tenant_admin")).toBe(true);
    expect(isTenantAdmin("platform_admin")).toBe(true);
    expect(isTenantAdmin("tenant_reporter")).toBe(false);
    expect(isTenantAdmin(undefined)).toBe(false);
    expect(isPlatformAdmin("tenant_admin")).toBe(false);
  });

  it("lets only platform admins grant platform_admin", () => {
    expect(grantableRoles("tenant_admin")).toEqual(["tenant_reporter", "tenant_admin"]);
    expect(grantableRoles("platform_admin")).toContain("platform_admin");
  });

  it("shows each role only the pages it may use", () => {
    const labels = (role: string) => navEntries(role).filter((e) => e.href).map((e) => e.label);
    expect(labels("tenant_reporter")).toEqual(["Fleet overview", "Alerts", "Checks"]);
    expect(labels("tenant_admin")).toEqual(["Fleet overview", "Alerts", "Checks", "Users", "Agent keys", "Audit"]);
    expect(labels("platform_admin")).toEqual(["Fleet overview", "Alerts", "Checks", "Users", "Tenants", "Agent keys", "Audit"]);
    expect(navEntries("tenant_reporter").filter((e) => !e.href).map((e) => e.label)).toEqual(["Commands"]);
  });
});
