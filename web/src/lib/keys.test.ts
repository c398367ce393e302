import { describe, expect, it } from "vitest";
import { graceSeconds, keyTone, keyWorks, maxUses, tokenState } from "./keys";

describe("agent keys", () => {
  it("colours and judges key states", () => {
    expect(keyTone("active")).toBe("success");
    expect(keyTone("expiring")).toBe("warning");
    expect(keyTone("revoked")).toBe("danger");
    expect(keyWorks("expiring")).toBe(true);
    expect(keyWorks("expired")).toBe(false);
  });

  it("reads the grace period in hours", () => {
    expect(graceSeconds("24")).toEqual({ seconds: 86_400 });
    expect(graceSeconds("0")).toEqual({ seconds: 0 });
    expect(graceSeconds("0.5")).toEqual({ seconds: 1800 });
    expect(graceSeconds("")).toHaveProperty("error");
    expect(graceSeconds("-1")).toHaveProperty("error");
    expect(graceSeconds("721")).toHaveProperty("error");
  });
});

describe("enrollment tokens", () => {
  const base = { revoked_at: null, expires_at: 2000, uses: 0, max_uses: 2 };

  it("says whether a token can still enroll", () => {
    expect(tokenState(base, 1000)).toBe("active");
    expect(tokenState({ ...base, uses: 2 }, 1000)).toBe("used up");
    expect(tokenState(base, 2000)).toBe("expired");
    expect(tokenState({ ...base, revoked_at: 1500 }, 1000)).toBe("revoked");
  });

  it("checks max uses", () => {
    expect(maxUses("10")).toEqual({ value: 10 });
    expect(maxUses("0")).toHaveProperty("error");
    expect(maxUses("1.5")).toHaveProperty("error");
    expect(maxUses("10001")).toHaveProperty("error");
  });
});
