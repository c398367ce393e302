// Labels typed as `key=value` lines (enrollment tokens), checked by the
// rules of proto's validate_labels so mistakes show before submitting.

export const MAX_LABELS = 8;
const MAX_KEY_LEN = 64;
const MAX_VALUE_BYTES = 256;
const KEY = /^[A-Za-z0-9_]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface ParsedLabels {
  labels: Record<string, string>;
  /** One sentence per problem, naming the line. */
  errors: string[];
}

/** Parses `key=value` lines; blank lines and `#` comments are skipped. */
export function parseLabels(text: string): ParsedLabels {
  const labels: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `Line ${index + 1}`;
    const eq = line.indexOf("=");
    if (eq === -1) {
      errors.push(`${where}: write it as key=value.`);
      return;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!KEY.test(key) || key.length > MAX_KEY_LEN) {
      errors.push(`${where}: the key must be 1-${MAX_KEY_LEN} letters, digits or underscores.`);
      return;
    }
    if (new TextEncoder().encode(value).length > MAX_VALUE_BYTES || CONTROL.test(value)) {
      errors.push(`${where}: the value must be at most ${MAX_VALUE_BYTES} bytes without control characters.`);
      return;
    }
    if (Object.hasOwn(labels, key)) {
      errors.push(`${where}: ${key} is given twice.`);
      return;
    }
    labels[key] = value;
  });
  if (Object.keys(labels).length > MAX_LABELS) errors.push(`At most ${MAX_LABELS} labels.`);
  return { labels, errors };
}

/** Labels as one short line: `env=prod, role=web`. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? "—" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}
