import { describe, expect, it } from 'vitest';
import { isNewer, newerRecords, parseKillRecord, type KillRecord } from '../../../src/fleet/index.js';
import { LAST_TIME } from '../../../src/fleet/index.js';
import { stampedAfter } from '../../../src/fleet/kill-record.js';

const rec = (at: number, origin: string, killed = true): KillRecord => ({
  experiment: 'exp',
  killed,
  reason: 'r',
  by: 'test',
  at,
  origin,
});

describe('kill records merge by last writer wins on (at, origin)', () => {
  it.each<[string, KillRecord, KillRecord | undefined, boolean]>([
    ['anything beats nothing', rec(1, 'a'), undefined, true],
    ['later beats earlier', rec(2, 'a'), rec(1, 'b'), true],
    ['earlier loses', rec(1, 'b'), rec(2, 'a'), false],
    ['a tie breaks on origin', rec(1, 'b'), rec(1, 'a'), true],
    ['a tie the other way', rec(1, 'a'), rec(1, 'b'), false],
    ['the same record is not news', rec(1, 'a'), rec(1, 'a'), false],
    ['an unkill later than a kill wins', rec(3, 'a', false), rec(2, 'a', true), true],
  ])('%s', (_name, a, b, expected) => {
    expect(isNewer(a, b)).toBe(expected);
  });

  it('newerRecords keeps only what supersedes the state', () => {
    const state = new Map([['exp', rec(5, 'a')]]);
    expect(newerRecords(state, [rec(4, 'z'), rec(6, 'a', false)])).toEqual([rec(6, 'a', false)]);
  });

  it('parseKillRecord refuses what is not a record', () => {
    expect(parseKillRecord({ ...rec(1, 'a'), evidence: { p: 0.01 } })).toEqual({
      ...rec(1, 'a'),
      evidence: { p: 0.01 },
    });
    expect(parseKillRecord({ ...rec(1, 'a'), at: Number.NaN })).toBeUndefined();
    expect(parseKillRecord({ ...rec(1, 'a'), killed: 'yes' })).toBeUndefined();
    expect(parseKillRecord({ ...rec(1, 'a'), experiment: '' })).toBeUndefined();
    expect(parseKillRecord(null)).toBeUndefined();
    expect(parseKillRecord('x')).toBeUndefined();
  });

  it('parseKillRecord refuses a time no clock gives (beyond the Date range), which no later decision could supersede', () => {
    const latest = 8.64e15; // new Date(8.64e15) is the last valid Date
    expect(parseKillRecord(rec(latest, 'a'))).toEqual(rec(latest, 'a'));
    expect(parseKillRecord(rec(1e300, '~'))).toBeUndefined();
    expect(parseKillRecord(rec(latest + 1, 'a'))).toBeUndefined();
    expect(parseKillRecord(rec(-1e300, 'a'))).toBeUndefined();
    // A pause frozen at such a time is kept as a pause at its record's own time.
    expect(parseKillRecord({ ...rec(5, 'a'), pausedAt: 1e300 })).toEqual(rec(5, 'a'));
  });
});

describe("stampedAfter: an operator's overrule of the record in force", () => {
  it('keeps a record that already wins, and stamps one that loses just after the one in force', () => {
    const mine = rec(10, 'cli', false);
    expect(stampedAfter(mine, undefined)).toBe(mine);
    expect(stampedAfter(mine, rec(9, 'z'))).toBe(mine);
    expect(stampedAfter(mine, rec(3_600_010, 'skewed'))).toEqual({ ...mine, at: 3_600_011 });
    expect(stampedAfter(mine, rec(10, 'z'))).toEqual({ ...mine, at: 11 }); // a tie it loses on origin
    const stamped = stampedAfter(mine, rec(3_600_010, 'skewed'))!;
    expect(isNewer(stamped, rec(3_600_010, 'skewed'))).toBe(true);
  });

  it('is undefined when no stamp can follow the record in force (the end of the Date range)', () => {
    expect(stampedAfter(rec(10, 'cli'), rec(LAST_TIME, 'z'))).toBeUndefined();
    expect(stampedAfter(rec(10, 'cli'), rec(LAST_TIME - 1, 'z'))).toEqual(rec(LAST_TIME, 'cli'));
  });
});
