import { describe, expect, it } from "vitest";
import { auditQuery, EMPTY_FILTERS, localInputToMs, outcomeKind } from "./audit";

describe("auditQuery", () => {
  const now = 10_000_000_000;

  it("sends only the filters that are set", () => {
    expect(auditQuery(EMPTY_FILTERS, now)).toEqual({});
    expect(auditQuery({ ...EMPTY_FILTERS, actor: " admin ", action: "user." }, now, { limit: 50 })).toEqual({ actor: "admin", action: "user.", limit: 50 });
  });

  it("turns a preset range into since", () => {
    expect(auditQuery({ ...EMPTY_FILTERS, range: "24h" }, now)).toEqual({ since: now - 86_400_000 });
  });

  it("uses both ends of a custom range, in local time", () => {
    const q = auditQuery({ ...EMPTY_FILTERS, range: "custom", from: "2024-05-01T10:00", to: "" }, now, { before: 42 });
    expect(q).toEqual({ since: new Date(2024, 4, 1, 10, 0).getTime(), before: 42 });
  });

  it("ignores unreadable dates", () => {
    expect(localInputToMs("not a date")).toBeUndefined();
    expect(localInputToMs("")).toBeUndefined();
  });
});

describe("outcomeKind", () => {
  it("reads the word before the status code", () => {
    expect(outcomeKind("ok (201)")).toBe("ok");
    expect(outcomeKind("denied (403)")).toBe("denied");
    expect(outcomeKind("failed (422)")).toBe("failed");
    expect(outcomeKind("weird")).toBe("other");
  });
});
