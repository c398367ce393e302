// Client-side checks of a command's arguments against the patterns its
// host's agent announced. The agent and the server check again; this only
// says what is wrong before anything is sent.

import type { ActionSpec, ParamSpec } from "../api/types";

/** The agent's limit on one argument, in bytes (proto MAX_COMMAND_ARG_LEN). */
export const MAX_ARG_BYTES = 1024;

const compiled = new Map<string, RegExp | null>();

/**
 * The whole-value matcher for a pattern, as the agent applies it:
 * `^(?:pattern)$`. Null when JavaScript cannot compile it (the patterns are
 * Rust regex syntax; the few constructs JavaScript lacks are left to the
 * server to check).
 */
export function compilePattern(pattern: string): RegExp | null {
  const cached = compiled.get(pattern);
  if (cached !== undefined) return cached;
  let re: RegExp | null = null;
  for (const flags of ["u", ""]) {
    try {
      re = new RegExp(`^(?:${pattern})$`, flags);
      break;
    } catch {
      // Unicode mode first (like Rust: \p{…} classes, . matches a character); older syntax otherwise.
    }
  }
  compiled.set(pattern, re);
  return re;
}

function byteLength(value: string): number {
  return new TextEncoder().encode(value).length;
}

/** What is wrong with one argument, or null when it is acceptable. */
export function checkParam(param: Pick<ParamSpec, "name" | "pattern">, value: string): string | null {
  if (value === "") {
    const re = compilePattern(param.pattern);
    if (!re || !re.test("")) return `${param.name} is required.`;
    return null;
  }
  if (byteLength(value) > MAX_ARG_BYTES) return `${param.name} is longer than ${MAX_ARG_BYTES} bytes.`;
  const re = compilePattern(param.pattern);
  if (re && !re.test(value)) return `${param.name} must match ${param.pattern}`;
  return null;
}

/** Errors by parameter name; empty when every argument is acceptable. */
export function checkArgs(action: Pick<ActionSpec, "params">, args: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const param of action.params ?? []) {
    const error = checkParam(param, args[param.name] ?? "");
    if (error) errors[param.name] = error;
  }
  return errors;
}

/** Arguments as the confirmation and history show them: `msg="hello", n="3"`. */
export function describeArgs(args: Record<string, string>): string {
  const entries = Object.entries(args);
  if (entries.length === 0) return "no arguments";
  return entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

/** The question asked before running: `Run echo on web-1 with msg="hi"?` */
export function confirmQuestion(action: string, hostname: string, args: Record<string, string>): string {
  const entries = Object.entries(args);
  return entries.length === 0 ? `Run ${action} on ${hostname}?` : `Run ${action} on ${hostname} with ${describeArgs(args)}?`;
}
