/**
 * How the config layer shows text from a config file in its messages. Secrets are
 * replaced before anything is escaped or cut: scrubbing the finished message could miss a
 * secret that escaping changed (a `"` or `\` in it) or that cutting left half of. Control
 * characters are escaped so that a name or value cannot move the terminal's cursor, clear
 * its screen or start a line that reads as another problem.
 */

/** C0 and C1 controls, DEL and the two Unicode line separators: what must not reach a terminal raw. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** The text with JSON-style escapes for control characters (\n, \u001b), everything else as it is. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The text in double quotes, escaped as JSON escapes it, plus the controls JSON leaves raw (DEL, C1). */
export function quote(text: string): string {
  return escapeControls(JSON.stringify(text));
}

/**
 * Replaces every secret value (interpolated from the environment) in a text with ***,
 * longest first, so a secret that contains another is replaced whole.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

const MAX_SHOWN = 60;

/** A value as a "found ..." shows it: scrubbed of secrets, then quoted, then cut to 60 characters. */
export function describeValue(value: unknown, secrets: readonly string[]): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  // Under %YAML 1.1 an unquoted timestamp is read as a date, not text.
  if (value instanceof Date) return 'a date (an unquoted timestamp under %YAML 1.1; quote it)';
  if (typeof value === 'object') return 'a map';
  // JSON has no form for these (it would write null): shown as themselves.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = typeof value === 'string' ? quote(scrubSecrets(value, secrets)) : String(JSON.stringify(value));
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}
