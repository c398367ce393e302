import { describe, expect, it } from "vitest";
import { formatLabels, parseLabels } from "./labels";

describe("parseLabels", () => {
  it("reads key=value lines, skipping blanks and comments", () => {
    expect(parseLabels("env=prod\n\n# a comment\n role = web \r\nempty=")).toEqual({ labels: { env: "prod", role: "web", empty: "" }, errors: [] });
  });

  it("keeps = signs inside values", () => {
    expect(parseLabels("expr=a=b").labels).toEqual({ expr: "a=b" });
  });

  it("names the line of each mistake", () => {
    const { errors } = parseLabels("env=prod\nnot a label\nbad-key=1\nenv=dev");
    expect(errors).toEqual([
      "Line 2: write it as key=value.",
      "Line 3: the key must be 1-64 letters, digits or underscores.",
      "Line 4: env is given twice.",
    ]);
  });

  it("refuses control characters and over-long values", () => {
    expect(parseLabels("a=x\u0007y").errors[0]).toMatch(/control characters/);
    expect(parseLabels(`a=${"v".repeat(257)}`).errors[0]).toMatch(/256 bytes/);
  });

  it("allows at most eight labels", () => {
    const text = Array.from({ length: 9 }, (_, i) => `k${i}=v`).join("\n");
    expect(parseLabels(text).errors).toEqual(["At most 8 labels."]);
  });

  it("gives no labels for empty text", () => {
    expect(parseLabels("")).toEqual({ labels: {}, errors: [] });
  });
});

describe("formatLabels", () => {
  it("joins pairs or shows a dash", () => {
    expect(formatLabels({ env: "prod", role: "web" })).toBe("env=prod, role=web");
    expect(formatLabels({})).toBe("—");
    expect(formatLabels(undefined)).toBe("—");
  });
});
