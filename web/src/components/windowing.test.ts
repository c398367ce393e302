import { describe, expect, it } from "vitest";
import { sparklineMax, sparklinePath } from "./Sparkline";
import { visibleRange } from "./VirtualList";

describe("visibleRange", () => {
  it("renders only the rows in view plus overscan", () => {
    // 10,000 rows of 50 px in a 500 px viewport scrolled to row 100.
    expect(visibleRange(5000, 500, 50, 10_000, 5)).toEqual([95, 116]);
  });
  it("clamps at both ends", () => {
    expect(visibleRange(0, 500, 50, 10_000, 5)).toEqual([0, 16]);
    expect(visibleRange(499_800, 500, 50, 10_000, 5)).toEqual([9991, 10_000]);
    expect(visibleRange(0, 500, 50, 3, 5)).toEqual([0, 3]);
    expect(visibleRange(0, 500, 50, 0, 5)).toEqual([0, 0]);
  });
});

describe("sparklinePath", () => {
  it("scales 0–100 to the box and breaks at gaps", () => {
    expect(sparklinePath([0, 100, null, 50, 50], 40, 10)).toBe("M0.0 10.0L10.0 0.0M30.0 5.0L40.0 5.0");
    expect(sparklinePath([], 40, 10)).toBe("");
  });
  it("scales latencies to their largest value", () => {
    const values = [10, null, 40];
    expect(sparklineMax(values)).toBe(40);
    expect(sparklinePath(values, 40, 10, sparklineMax(values))).toBe("M0.0 7.5M40.0 0.0");
    expect(sparklineMax([null, 0])).toBe(1);
  });
});
