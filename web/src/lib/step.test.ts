import { describe, expect, it } from "vitest";
import { chooseStep, rangeFromSearch, rangeToSearch, resolveRange } from "./step";

describe("chooseStep", () => {
  it("gives about one point per pixel, rounded up to a nice step", () => {
    // 15 minutes on 900 px: one second per pixel.
    expect(chooseStep(900, 900)).toBe(1);
    // 1 h on 1000 px: 3.6 s → 5 s.
    expect(chooseStep(3600, 1000)).toBe(5);
    // 24 h on 1000 px: 86.4 s → 120 s.
    expect(chooseStep(86400, 1000)).toBe(120);
  });
  it("asks for rollup-sized steps on long ranges", () => {
    // 7 d on a wide chart still needs ≥ 5 min, so the 5-minute tier answers.
    expect(chooseStep(7 * 86400, 1600)).toBe(600);
    expect(chooseStep(7 * 86400, 2016)).toBe(300);
    expect(chooseStep(7 * 86400, 1000)).toBeGreaterThanOrEqual(300);
    // 30 d → hourly; 1 y on a phone → one point a day.
    expect(chooseStep(30 * 86400, 1000)).toBe(3600);
    expect(chooseStep(365 * 86400, 400)).toBe(86400);
  });
  it("never goes finer than the host's interval", () => {
    expect(chooseStep(900, 2000, 10)).toBe(10);
    expect(chooseStep(900, 2000, 7)).toBe(10);
  });
  it("survives a zero width (chart not laid out yet)", () => {
    expect(chooseStep(3600, 0)).toBe(3600);
  });
});

describe("ranges", () => {
  const now = 1_700_000_000_000;
  it("ends relative ranges now", () => {
    expect(resolveRange({ kind: "relative", key: "1h" }, now)).toEqual({ fromMs: now - 3_600_000, toMs: now });
  });
  it("ends them at an offline host's last report", () => {
    const lastSeen = now - 86_400_000;
    expect(resolveRange({ kind: "relative", key: "live" }, now, lastSeen)).toEqual({ fromMs: lastSeen - 900_000, toMs: lastSeen });
  });
  it("keeps absolute ranges", () => {
    expect(resolveRange({ kind: "absolute", fromMs: 1, toMs: 2 }, now, 0)).toEqual({ fromMs: 1, toMs: 2 });
  });
  it("round-trips through the URL", () => {
    for (const range of [
      { kind: "relative", key: "7d" } as const,
      { kind: "relative", key: "live" } as const,
      { kind: "absolute", fromMs: 1000, toMs: 5000 } as const,
    ]) {
      expect(rangeFromSearch(rangeToSearch(range))).toEqual(range);
    }
    expect(rangeFromSearch("?range=bogus")).toEqual({ kind: "relative", key: "live" });
    expect(rangeFromSearch("?from=5&to=1")).toEqual({ kind: "relative", key: "live" });
  });
  it("leaves a page's own default range out of the URL", () => {
    expect(rangeToSearch({ kind: "relative", key: "24h" }, "24h")).toBe("");
    expect(rangeToSearch({ kind: "relative", key: "live" }, "24h")).toBe("?range=live");
    expect(rangeFromSearch("", "24h")).toEqual({ kind: "relative", key: "24h" });
    expect(rangeFromSearch("?range=live", "24h")).toEqual({ kind: "relative", key: "live" });
  });
});
