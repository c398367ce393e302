import { describe, expect, it } from "vitest";
import { newPasswordProblem } from "./password";

describe("newPasswordProblem", () => {
  it("wants ten characters, typed the same twice", () => {
    expect(newPasswordProblem("short", "short")).toMatch(/at least 10/);
    expect(newPasswordProblem("a-long-password", "a-long-passw0rd")).toMatch(/differ/);
    expect(newPasswordProblem("a-long-password", "a-long-password")).toBeNull();
  });

  it("counts characters, not bytes", () => {
    expect(newPasswordProblem("ééééééééé", "ééééééééé")).toMatch(/at least 10/);
  });
});
