import { describe, expect, it } from "vitest";
import { DASH, formatAgo, formatBytes, formatCount, formatDateTime, formatDuration, formatLatency, formatNumber, formatPercent, formatRate, formatUptime } from "./format";

describe("formatBytes", () => {
  it("uses binary units with three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(10 * 1024 * 1024)).toBe("10.0 MiB");
    expect(formatBytes(250 * 1024 ** 3)).toBe("250 GiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3.00 TiB");
  });
  it("shows a dash for gaps", () => {
    expect(formatBytes(null)).toBe(DASH);
    expect(formatBytes(undefined)).toBe(DASH);
    expect(formatBytes(Number.NaN)).toBe(DASH);
  });
});

describe("formatRate", () => {
  it("appends per second", () => {
    expect(formatRate(2048)).toBe("2.00 KiB/s");
    expect(formatRate(null)).toBe(DASH);
  });
});

describe("formatPercent and numbers", () => {
  it("keeps one decimal only for small values", () => {
    expect(formatPercent(7.54)).toBe("7.5%");
    expect(formatPercent(42.4)).toBe("42%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(null)).toBe(DASH);
  });
  it("trims trailing zeros", () => {
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(0.123456)).toBe("0.12");
    expect(formatNumber(2)).toBe("2");
  });
  it("shortens counts", () => {
    expect(formatCount(950)).toBe("950");
    expect(formatCount(1234)).toBe("1.23k");
    expect(formatCount(3_400_000)).toBe("3.40M");
  });
});

describe("formatDuration", () => {
  it("shows the two largest units", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(45)).toBe("45s");
    expect(formatDuration(12 * 60 + 3)).toBe("12m 3s");
    expect(formatDuration(5 * 3600 + 12 * 60 + 9)).toBe("5h 12m");
    expect(formatDuration(3 * 86400 + 4 * 3600 + 59)).toBe("3d 4h");
    expect(formatDuration(2 * 86400 + 30)).toBe("2d");
    expect(formatDuration(400 * 86400)).toBe("1y 35d");
  });
  it("refuses negative durations (clock skew)", () => {
    expect(formatDuration(-5)).toBe(DASH);
    expect(formatDuration(null)).toBe(DASH);
  });
});

describe("formatAgo", () => {
  const now = 1_700_000_000_000;
  it("says how long ago", () => {
    expect(formatAgo(now - 2000, now)).toBe("just now");
    expect(formatAgo(now - 30_000, now)).toBe("30 s ago");
    expect(formatAgo(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(formatAgo(now - 2 * 86_400_000, now)).toBe("2 d ago");
    expect(formatAgo(null, now)).toBe("never");
  });
});

describe("formatDateTime", () => {
  const ms = Date.UTC(2024, 4, 1, 14, 3, 7);
  it("shows date and time", () => {
    expect(formatDateTime(ms, { timeZone: "UTC" })).toBe("2024-05-01 14:03:07");
  });
  it("leaves out today's date", () => {
    expect(formatDateTime(ms, { timeZone: "UTC", nowMs: ms + 3600_000 })).toBe("14:03:07");
    expect(formatDateTime(ms, { timeZone: "UTC", nowMs: ms + 86_400_000 })).toBe("2024-05-01 14:03:07");
  });
});

describe("formatLatency and formatUptime", () => {
  it("says response times in ms below a second", () => {
    expect(formatLatency(0.423)).toBe("0.42 ms");
    expect(formatLatency(12.34)).toBe("12.3 ms");
    expect(formatLatency(245.6)).toBe("246 ms");
    expect(formatLatency(1250)).toBe("1.25 s");
    expect(formatLatency(null)).toBe(DASH);
  });
  it("never rounds an uptime up to 100%", () => {
    expect(formatUptime(100)).toBe("100%");
    expect(formatUptime(99.999)).toBe("99.99%");
    expect(formatUptime(99.95)).toBe("99.95%");
    expect(formatUptime(50)).toBe("50.00%");
    expect(formatUptime(null)).toBe(DASH);
  });
});
