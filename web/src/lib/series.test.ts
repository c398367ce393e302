import { describe, expect, it } from "vitest";
import type { QueryResult } from "../api/types";
import { appendResult, lastFilledTimestamp, lastValue, latestByLabel, seriesKey, seriesNamed, toUPlotData, trimResult } from "./series";

function result(timestamps: number[], series: { name: string; labels?: Record<string, string>; values: (number | null)[] }[]): QueryResult {
  return { tier: "raw", step_s: 1, timestamps, series: series.map((s) => ({ labels: {}, ...s })) } as QueryResult;
}

describe("seriesKey", () => {
  it("is independent of label order", () => {
    expect(seriesKey({ name: "a", labels: { y: "2", x: "1" } })).toBe("a{x=1,y=2}");
    expect(seriesKey({ name: "a", labels: {} })).toBe("a");
  });
});

describe("toUPlotData", () => {
  it("converts ms to seconds and keeps the requested column order", () => {
    const r = result([1000, 2000], [
      { name: "b", values: [3, 4] },
      { name: "a", values: [1, null] },
    ]);
    const data = toUPlotData(r, [r.series[1]!, r.series[0]!]);
    expect(data).toEqual([[1, 2], [1, null], [3, 4]]);
  });
  it("pads series the answer lacks", () => {
    const r = result([1000], [{ name: "a", values: [1] }]);
    expect(toUPlotData(r, [{ name: "missing", labels: {}, values: [] }])).toEqual([[1], [null]]);
  });
});

describe("seriesNamed and latest", () => {
  const r = result([1, 2, 3], [
    { name: "fs.used_percent", labels: { mount: "/var" }, values: [10, 20, null] },
    { name: "fs.used_percent", labels: { mount: "/" }, values: [50, 51, 52] },
    { name: "cpu", values: [null, null, null] },
  ]);
  it("orders by labels", () => {
    expect(seriesNamed(r, "fs.used_percent").map((s) => s.labels.mount)).toEqual(["/", "/var"]);
  });
  it("takes the last non-null value", () => {
    expect(lastValue([1, 2, null])).toBe(2);
    expect(lastValue([null])).toBeNull();
    expect(latestByLabel(r, "fs.used_percent", "mount")).toEqual(new Map([["/", 52], ["/var", 20]]));
  });
  it("finds the last filled bucket", () => {
    expect(lastFilledTimestamp(r)).toBe(3);
    expect(lastFilledTimestamp(result([1, 2], [{ name: "a", values: [5, null] }]))).toBe(1);
  });
});

describe("appendResult (live updates)", () => {
  it("replaces from the newer answer's first bucket and appends the rest", () => {
    const older = result([1000, 2000, 3000], [{ name: "cpu", values: [1, 2, 3] }]);
    const newer = result([3000, 4000], [{ name: "cpu", values: [30, 40] }]);
    const merged = appendResult(older, newer);
    expect(merged.timestamps).toEqual([1000, 2000, 3000, 4000]);
    expect(merged.series[0]!.values).toEqual([1, 2, 30, 40]);
  });
  it("drops points that left the live window", () => {
    const older = result([1000, 2000, 3000], [{ name: "cpu", values: [1, 2, 3] }]);
    const newer = result([4000], [{ name: "cpu", values: [4] }]);
    const merged = appendResult(older, newer, 2500);
    expect(merged.timestamps).toEqual([3000, 4000]);
    expect(merged.series[0]!.values).toEqual([3, 4]);
  });
  it("pads series that appear or vanish", () => {
    const older = result([1000], [{ name: "a", values: [1] }]);
    const newer = result([2000], [{ name: "b", values: [2] }]);
    const merged = appendResult(older, newer);
    const byName = Object.fromEntries(merged.series.map((s) => [s.name, s.values]));
    expect(byName).toEqual({ a: [1, null], b: [null, 2] });
  });
  it("keeps the older answer when nothing new arrived", () => {
    const older = result([1000, 2000], [{ name: "a", values: [1, 2] }]);
    expect(appendResult(older, result([], []), 1500).timestamps).toEqual([2000]);
  });
});

describe("trimResult", () => {
  it("empties a result entirely outside the window", () => {
    const r = result([1, 2], [{ name: "a", values: [1, 2] }]);
    expect(trimResult(r, 10).timestamps).toEqual([]);
    expect(trimResult(r, 10).series[0]!.values).toEqual([]);
    expect(trimResult(r, 0)).toBe(r);
  });
});
