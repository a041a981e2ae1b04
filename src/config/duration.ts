const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Parses `1d`, `12h`, `30m`, `45s`, `250ms`, `2w` into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export const DURATION_FORMAT = 'a positive number with a unit: ms, s, m, h, d or w (e.g. 1d, 12h)';
