import { describe, expect, it } from "vitest";
import { checkArgs, checkParam, compilePattern, confirmQuestion, describeArgs, MAX_ARG_BYTES } from "./params";

describe("compilePattern", () => {
  it("matches the whole value, never a part", () => {
    const re = compilePattern("[a-z ]+")!;
    expect(re.test("hello from the ui")).toBe(true);
    expect(re.test("Bad!")).toBe(false);
    expect(re.test("ok!")).toBe(false);
    expect(re.test("!ok")).toBe(false);
  });

  it("groups alternatives so ^ and $ bind to all of them", () => {
    const re = compilePattern("nginx|redis")!;
    expect(re.test("nginx")).toBe(true);
    expect(re.test("redis")).toBe(true);
    expect(re.test("nginx-evil")).toBe(false);
    expect(re.test("evil-redis")).toBe(false);
  });

  it("accepts Unicode classes with the u flag", () => {
    expect(compilePattern("\\p{L}+")!.test("héllo")).toBe(true);
  });

  it("gives null for a pattern JavaScript cannot compile", () => {
    expect(compilePattern("(?P<x>a")).toBeNull();
  });
});

describe("checkParam", () => {
  const msg = { name: "msg", pattern: "[a-z ]+" };

  it("accepts a matching value", () => {
    expect(checkParam(msg, "hello from the ui")).toBeNull();
  });

  it("names the pattern when a value does not match", () => {
    expect(checkParam(msg, "Bad!")).toBe("msg must match [a-z ]+");
  });

  it("requires a value unless the pattern allows an empty one", () => {
    expect(checkParam(msg, "")).toBe("msg is required.");
    expect(checkParam({ name: "opt", pattern: "[a-z]*" }, "")).toBeNull();
  });

  it("refuses values over the agent's length limit", () => {
    expect(checkParam({ name: "x", pattern: ".*" }, "a".repeat(MAX_ARG_BYTES + 1))).toMatch(/longer than/);
    expect(checkParam({ name: "x", pattern: ".*" }, "a".repeat(MAX_ARG_BYTES))).toBeNull();
  });

  it("leaves patterns it cannot compile to the server", () => {
    expect(checkParam({ name: "x", pattern: "(?P<x>a" }, "anything")).toBeNull();
  });
});

describe("checkArgs", () => {
  const action = { params: [{ name: "unit", pattern: "[a-z]+\\.service" }, { name: "n", pattern: "[0-9]{1,3}" }] };

  it("reports each bad or missing argument by name", () => {
    expect(checkArgs(action, { unit: "nginx.service", n: "12" })).toEqual({});
    expect(checkArgs(action, { unit: "nginx", n: "" })).toEqual({ unit: "unit must match [a-z]+\\.service", n: "n is required." });
  });

  it("accepts actions without parameters", () => {
    expect(checkArgs({}, {})).toEqual({});
  });
});

describe("describeArgs", () => {
  it("quotes values", () => {
    expect(describeArgs({ msg: "hello", n: "3" })).toBe('msg="hello", n="3"');
    expect(describeArgs({})).toBe("no arguments");
  });
});

describe("confirmQuestion", () => {
  it("names the action, the host and the arguments", () => {
    expect(confirmQuestion("echo", "web-1", { msg: "hello from the ui" })).toBe('Run echo on web-1 with msg="hello from the ui"?');
    expect(confirmQuestion("uptime", "web-1", {})).toBe("Run uptime on web-1?");
  });
});
