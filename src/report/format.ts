/** Number and label formatting shared by every rendering. */
import type { Analysis, DecisionKind, Effect, SrmCheck } from '../analysis/index.js';

export const pct = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(digits)}%`;

export const p = (x: number | null | undefined): string =>
  x === null || x === undefined ? 'n/a' : x < 0.0001 ? '<0.0001' : x.toFixed(4);

/**
 * Text from the data for a terminal: control characters (escape sequences that move the
 * cursor, retitle the window or clear the screen; newlines that forge output lines) are
 * shown as \uXXXX. Everything the CLI prints from names goes through this.
 */
export const terminalSafe = (s: string): string => s.replace(UNSAFE, escaped);

/**
 * Control characters, and the Unicode bidirectional controls (U+061C, U+200E/F, U+202A-E,
 * U+2066-9), which reorder what follows them on screen: a name holding U+202E shows its
 * text reversed, so a hostile name could pass for another (the "Trojan Source" trick).
 */
const BIDI_CLASS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${BIDI_CLASS}]`, 'g');
const BIDI = new RegExp(`[${BIDI_CLASS}]`, 'g');
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text with the bidirectional controls escaped as \uXXXX (see terminalSafe), the rest as it is: Markdown and HTML. */
export const bidiSafe = (s: string): string => s.replace(BIDI, escaped);

export const n = (x: number): string => Math.round(x).toLocaleString('en');

export const num = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : Number(x.toPrecision(digits)).toString();

export const DECISION_LABEL: Record<DecisionKind, string> = {
  ship: 'SHIP',
  dont_ship: "DON'T SHIP",
  keep_running: 'KEEP RUNNING',
  stop: 'STOP',
};

/** The value of an arm in the statistic's own terms (a rate as a percentage). */
export function armValue(e: Effect, value: number): string {
  return e.statistic === 'conversion' || e.statistic === 'error_rate' ? pct(value) : num(value);
}

export function effectLabel(e: Effect): string {
  return `${e.metric} · ${e.statistic} · ${e.variant}`;
}

/** How many incomplete lines a rendering names; the JSON report has all the analysis located. */
const NAMED_LINES = 3;

/**
 * The data-quality figures as one phrase, the same in every rendering: files, lines, empty,
 * malformed with where the first lines are that cannot be JSON objects, and exposures and
 * events out of time range. `escape` makes a file path safe for the rendering (the only text from outside).
 */
export function dataQualityText(q: Analysis['dataQuality'], escape: (s: string) => string): string {
  const named = q.incomplete.slice(0, NAMED_LINES).map((l) => `${escape(l.file)}:${l.line}`);
  const more = q.incomplete.length > NAMED_LINES ? `, ${q.incomplete.length - NAMED_LINES} more` : '';
  const where = named.length > 0 ? ` (not a JSON object: ${named.join(', ')}${more})` : '';
  const late =
    (q.outOfRange ? `, ${q.outOfRange} exposures out of time range (left out)` : '') +
    (q.outOfRangeEvents ? `, ${q.outOfRangeEvents} events out of time range (left out)` : '');
  return `${q.files} file(s), ${n(q.lines)} lines, ${q.empty} empty, ${q.malformed} malformed${where}${late}`;
}

/** The SRM check as a phrase: its p, or that the split was not tested (an adaptive experiment). No text from outside. */
export function srmText(srm: SrmCheck): string {
  return srm.notTested !== undefined && !srm.mismatch
    ? 'SRM not tested (adaptive: the split follows the bandit)'
    : `SRM p = ${p(srm.pValue)}`;
}

/**
 * The test the decision reads instead of the raw one, as a phrase after `lead` (empty when
 * there is none): CUPED's corrected p, or an adaptive experiment's difference stratified by
 * allocation version with its interval and corrected p. No text from outside.
 */
export function adjustedTestText(e: Effect, lead: string): string {
  const s = e.stratified;
  if (s) {
    const diff = (x: number) => `${x >= 0 ? '+' : ''}${armValue(e, x)}`;
    return `${lead}by version (${s.strata}): ${diff(s.absolute)} [${diff(s.absoluteCi.lower)}, ${diff(s.absoluteCi.upper)}], p adj ${p(s.adjustedPValue)}`;
  }
  return e.cuped ? `${lead}CUPED p adj ${p(e.cuped.adjustedPValue)}` : '';
}

/** The experiments not analysed as one phrase (empty when none); `escape` makes the names safe for the rendering. */
export function notAnalysedText(a: Analysis, escape: (s: string) => string): string {
  if (a.notAnalysed.length === 0) return '';
  return `Not analysed: ${a.notAnalysed.map((n) => `${escape(n.experiment)} ${escape(n.reason)}`).join('; ')}.`;
}
