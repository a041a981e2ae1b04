/**
 * Lines a pipeline should never write but a file can hold anyway, read by both engines
 * (DuckDB in place, PostgreSQL after `load`): each is counted once, as a line and as
 * malformed when it is not a valid record, the valid lines around it are all read, and
 * the two engines give the same numbers as on the clean data.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyze,
  loadJsonlIntoPostgres,
  openDuckDbStore,
  openPostgresStore,
  type Analysis,
  type LoadResult,
} from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { analyzeStore, expectSame, privateDatabase } from '../helpers/analysis-db.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-hostile-'));
const clean = join(root, 'clean');
const options = {
  config: validateConfigObject({
    analysis: { decision: { require_min_sample: false } },
    experiments: {
      exp: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        allocation: { mode: 'fixed', percent: 100 },
        primary_metric: 'purchase',
      },
    },
  }),
  now: Date.parse('2026-10-05T00:00:00Z'),
};
let expected: Analysis;

beforeAll(async () => {
  generate(clean, {
    experiment: 'exp',
    units: 1500,
    days: 2,
    start: '2026-10-01T00:00:00Z',
    weights: { control: 1, treatment: 1 },
    rates: { control: 0.1, treatment: 0.14 },
  });
  expected = await analyzeStore(() => openDuckDbStore(clean), options);
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the clean data with `lines` inserted in the middle of its first file. */
function withLines(name: string, lines: readonly Buffer[], lastWithoutNewline = false): string {
  const dir = join(root, name);
  mkdirSync(dir);
  cpSync(clean, dir, { recursive: true });
  const first = join(dir, readdirSync(dir).sort()[0]!);
  const original = readFileSync(first, 'utf8').split('\n').filter(Boolean);
  const half = Math.floor(original.length / 2);
  const body = [
    ...original.slice(0, half).map((l) => Buffer.from(l)),
    ...lines,
    ...original.slice(half).map((l) => Buffer.from(l)),
  ];
  writeFileSync(
    first,
    Buffer.concat(body.flatMap((l, i) => (lastWithoutNewline && i === body.length - 1 ? [l] : [l, Buffer.from('\n')]))),
  );
  return dir;
}

/** The analysis on DuckDB and, after loading the same files, on PostgreSQL. */
async function onBoth(dir: string): Promise<{ duck: Analysis; post: Analysis; loaded: LoadResult }> {
  const database = privateDatabase('sy_hostile');
  await database.create();
  try {
    const duck = await analyzeStore(() => openDuckDbStore(dir), options);
    const loaded = await loadJsonlIntoPostgres(database.url, dir);
    const post = await analyzeStore(() => openPostgresStore(database.url), options);
    return { duck, post, loaded };
  } finally {
    await database.drop();
  }
}

void analyze;

describe('load reads every line of a file, whatever its bytes', () => {
  it('a `\\.` line, raw \\x01 / \\x02, invalid UTF-8 and a NUL are malformed lines; nothing else is lost', async () => {
    const event = (tail: string) =>
      `{"schema":"switchyard.event/1","id":"H${tail.length}","ts":"2026-10-01T09:00:00Z","unit":"exp-u28","event":"x${tail}","value":1,"properties":{}}`;
    const junk = [
      Buffer.from('\\.'),
      Buffer.from(event('\x01')),
      Buffer.from(event('\x02\x02')),
      Buffer.concat([Buffer.from(event('aaa')), Buffer.from([0xff])]),
      Buffer.from(event('\u0000bbb')),
      Buffer.from('"quoted", \x02 "\x01" ""'),
      Buffer.from('  \r'),
    ];
    const dir = withLines('bytes', junk, true);
    const { duck, post, loaded } = await onBoth(dir);
    // The lines that cannot be JSON objects are named: `\.`, the object followed by a 0xff byte, the quoted text.
    const first = join(dir, readdirSync(dir).sort()[0]!);
    const at = readFileSync(first, 'latin1').split('\n').indexOf('\\.') + 1;
    expect(duck.dataQuality).toEqual({
      ...expected.dataQuality,
      lines: expected.dataQuality.lines + junk.length,
      empty: expected.dataQuality.empty + 1,
      malformed: expected.dataQuality.malformed + 6,
      incomplete: [
        { file: first, line: at },
        { file: first, line: at + 3 },
        { file: first, line: at + 5 },
      ],
    });
    expect(loaded.incomplete).toEqual(duck.dataQuality.incomplete);
    expect(post.dataQuality).toEqual(duck.dataQuality);
    expect(loaded.lines).toBe(duck.dataQuality.lines);
    expect(loaded.malformed).toBe(duck.dataQuality.malformed);
    expectSame(duck.experiments, expected.experiments);
    expectSame(post.experiments, expected.experiments);
  }, 120_000);
});

const exposureAt = (ts: string, id: string) =>
  Buffer.from(
    `{"schema":"switchyard.exposure/1","id":"${id}","ts":"${ts}","unit":"zz-${id}","experiment":"exp","flag":"exp","variant":"control","allocation":{"mode":"fixed","version":0,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory","attributes":{}}`,
  );

const eventAt = (ts: string, id: string, unit: string) =>
  Buffer.from(
    `{"schema":"switchyard.event/1","id":"${id}","ts":"${ts}","unit":"${unit}","event":"purchase","value":5,"properties":{}}`,
  );

describe('an event at an implausible time is left out and counted', () => {
  it('2099 and 1970, of an exposed unit and of a unit never exposed, one delivered twice: counted once per id, the same on both engines', async () => {
    const lines = [
      exposureAt('2026-10-02T00:00:00Z', 'X1'),
      eventAt('2099-10-02T00:00:00Z', 'G1', 'zz-X1'),
      eventAt('1970-01-02T00:00:00Z', 'G2', 'zz-X1'),
      eventAt('2099-10-02T00:00:00Z', 'G3', 'nobody'),
      // In range: a real event, not counted.
      eventAt('2026-10-02T01:00:00Z', 'G4', 'zz-X1'),
    ];
    const { duck, post } = await onBoth(withLines('event-times', [...lines, lines[1]!]));
    for (const a of [duck, post]) {
      expect(a.dataQuality.outOfRangeEvents).toBe(3);
      expect(a.dataQuality.outOfRange).toBe(0);
      expect(a.dataQuality.malformed).toBe(expected.dataQuality.malformed);
    }
    expect(expected.dataQuality.outOfRangeEvents).toBe(0);
    expectSame(post.experiments, duck.experiments);
    expect(post.dataQuality).toEqual(duck.dataQuality);
  }, 120_000);
});

describe('an exposure at an implausible time is left out and counted', () => {
  it('2099 and 1970 (audit: runtime 26,664 days, KEEP RUNNING became SHIP): same decision, runtime and units as the clean data', async () => {
    const lines = [
      exposureAt('2099-10-02T00:00:00Z', 'F1'),
      exposureAt('1970-01-02T00:00:00Z', 'F2'),
      // Within the day of clock skew allowed after the analysis time: a real exposure.
      exposureAt('2026-10-05T12:00:00Z', 'F3'),
    ];
    // F1 twice: a repeated delivery counts once on both engines.
    const { duck, post } = await onBoth(withLines('times', [...lines, lines[0]!]));
    expect(expected.experiments[0]!.decision.decision).toBe('keep_running');
    for (const a of [duck, post]) {
      const e = a.experiments[0]!;
      expect(e.decision.decision).toBe('keep_running');
      expect(e.period.start).toBe(expected.experiments[0]!.period.start);
      expect(e.period.end).toBe('2026-10-05T12:00:00.000Z');
      expect(e.units.control).toBe(expected.experiments[0]!.units.control! + 1);
      expect(a.dataQuality.outOfRange).toBe(2);
      expect(a.dataQuality.malformed).toBe(expected.dataQuality.malformed);
    }
    expectSame(post.experiments, duck.experiments);
    expect(expected.dataQuality.outOfRange).toBe(0);
  }, 120_000);
});

describe('a timestamp is read alike on both engines and on any machine', () => {
  it('RFC 3339 with Z or an offset counts; no offset, words, lowercase, leap seconds and other formats are malformed (audit: PostgreSQL took "now", DuckDB read a ts without offset in the machine\'s time zone)', async () => {
    const valid = [
      exposureAt('2026-10-01T12:00:00+05:30', 'T1'),
      exposureAt('2026-10-01 12:00:00-03:00', 'T2'),
      // Nanoseconds (Go's RFC3339Nano): cut to microseconds on both (PostgreSQL rounded up, a second later here).
      exposureAt('2026-10-04T12:00:00.9999999Z', 'T3'),
    ];
    const malformed = [
      '2026-10-01T12:00:00',
      '2026-10-01',
      'now',
      'today',
      'infinity',
      '-infinity',
      '2026-10-01t12:00:00z',
      '2026-10-01T23:59:60Z',
      '2026-10-01T12:00Z',
      'Thu, 01 Oct 2026 12:00:00 GMT',
      '20261001T120000Z',
      '2026-10-01T12:00:00+23:00',
      '2026-10-01T12:00:00 Europe/Paris',
      '2026-10-01T12:00:00Z BC',
      '0000-01-01T00:00:00Z',
    ].map((ts, i) => exposureAt(ts, `M${i}`));
    const { duck, post, loaded } = await onBoth(withLines('ts', [...valid, ...malformed]));
    expect(loaded.malformed).toBe(expected.dataQuality.malformed + malformed.length);
    for (const a of [duck, post]) {
      expect(a.dataQuality.malformed).toBe(expected.dataQuality.malformed + malformed.length);
      expect(a.dataQuality.outOfRange).toBe(0);
      const e = a.experiments[0]!;
      expect(e.units.control).toBe(expected.experiments[0]!.units.control! + valid.length);
      expect(e.period.end).toBe('2026-10-04T12:00:00.999Z');
    }
    expect(post.dataQuality).toEqual(duck.dataQuality);
    expectSame(post.experiments, duck.experiments);
  }, 120_000);
});

describe('an event value that is not a finite number within MAX_VALUE makes its line malformed', () => {
  it('1e120, 1e200, 1e400, Infinity, NaN, "1e309", "12", true (audit: a crash or mean_value gone): the clean numbers, each line malformed', async () => {
    const meanValue = {
      ...options,
      config: validateConfigObject({
        analysis: { decision: { require_min_sample: false, primary_statistic: 'mean_value' } },
        experiments: {
          exp: {
            variants: { control: { weight: 50 }, treatment: { weight: 50 } },
            allocation: { mode: 'fixed', percent: 100 },
            primary_metric: 'purchase',
          },
        },
      }),
    };
    const cleanMv = await analyzeStore(() => openDuckDbStore(clean), meanValue);
    expect(cleanMv.experiments[0]!.metrics.some((m) => m.statistic === 'mean_value' && m.role === 'primary')).toBe(
      true,
    );
    // A unit that is in the experiment and buys: its purchase would count.
    const buyer = readFileSync(join(clean, readdirSync(clean).sort()[0]!), 'utf8')
      .split('\n')
      .map((l) => (l ? (JSON.parse(l) as { event?: string; unit: string }) : undefined))
      .find((l) => l?.event === 'purchase')!.unit;
    const values = ['1e120', '1e200', '1e400', 'Infinity', 'NaN', '"1e309"', '"12"', 'true', '1000000000000001'];
    const lines = values.map((v, i) =>
      Buffer.from(
        `{"schema":"switchyard.event/1","id":"V${i}","ts":"2026-10-01T09:00:00Z","unit":"${buyer}","event":"purchase","value":${v},"properties":{}}`,
      ),
    );
    const dir = withLines('values', lines);
    const duck = await analyzeStore(() => openDuckDbStore(dir), meanValue);
    const database = privateDatabase('sy_hostile');
    await database.create();
    let post: Analysis;
    try {
      await loadJsonlIntoPostgres(database.url, dir);
      post = await analyzeStore(() => openPostgresStore(database.url), meanValue);
    } finally {
      await database.drop();
    }
    for (const a of [duck, post]) {
      expect(a.dataQuality.malformed).toBe(cleanMv.dataQuality.malformed + values.length);
      expectSame(a.experiments, cleanMv.experiments);
    }
  }, 120_000);
});

describe('lines that break the record schema are malformed on both engines', () => {
  it('names that are not non-empty strings, attributes / properties that are not objects (audit: phantom arms, SRM STOP)', async () => {
    const exposure = (fields: string) =>
      Buffer.from(
        `{"schema":"switchyard.exposure/1","ts":"2026-10-01T10:00:00Z","flag":"exp","allocation":{"mode":"fixed","version":0,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory",${fields}}`,
      );
    const event = (fields: string) =>
      Buffer.from(`{"schema":"switchyard.event/1","ts":"2026-10-01T10:00:00Z",${fields}}`);
    const good = (i: number) => `"id":"S${i}","unit":"s-${i}","experiment":"exp","variant":"treatment","attributes":{}`;
    const lines = [
      exposure(good(0).replace('"unit":"s-0"', '"unit":{"a":1}')),
      exposure(good(1).replace('"unit":"s-1"', '"unit":""')),
      exposure(good(2).replace('"variant":"treatment"', '"variant":123')),
      exposure(good(3).replace('"variant":"treatment"', '"variant":""')),
      exposure(good(4).replace('"experiment":"exp"', '"experiment":["exp"]')),
      exposure(good(5).replace('"attributes":{}', '"attributes":"notanobject"')),
      exposure(good(6).replace('"id":"S6"', '"id":6')),
      exposure(good(7).replace('"variant":"treatment"', '"variant":"tre\\u0000atment"')),
      event('"id":"E1","unit":"s-9","event":{"x":1},"value":1,"properties":{}'),
      event('"id":"E2","unit":"s-9","event":"purchase","value":1,"properties":[1,2]'),
      event('"id":"E3","unit":"s-9","event":"","properties":{}'),
      event('"id":"E4","unit":"s-9","event":"pur\\u0000chase","properties":{}'),
      event('"id":"E5","unit":7,"event":"purchase","properties":{}'),
    ];
    // Still valid: null attributes / properties / value, absent value, a name with a quote.
    const valid = [
      exposure(
        good(10)
          .replace('"attributes":{}', '"attributes":null')
          .replace('"variant":"treatment"', '"variant":"control"'),
      ),
      event('"id":"E10","unit":"s-10","event":"look \\"here\\"","value":null,"properties":null'),
    ];
    const { duck, post, loaded } = await onBoth(withLines('schema', [...lines, ...valid]));
    expect(loaded.malformed).toBe(expected.dataQuality.malformed + lines.length);
    for (const a of [duck, post]) {
      expect(a.dataQuality.malformed).toBe(expected.dataQuality.malformed + lines.length);
      const e = a.experiments[0]!;
      expect(a.experiments.map((x) => x.experiment)).toEqual(['exp']);
      expect(e.variants).toEqual(['control', 'treatment']);
      expect(e.units).toEqual({
        ...expected.experiments[0]!.units,
        control: expected.experiments[0]!.units.control! + 1,
      });
      expect(e.decision.decision).toBe(expected.experiments[0]!.decision.decision);
    }
    expectSame(post.experiments, duck.experiments);
  }, 120_000);
});

describe('loading the same files again', () => {
  it('the data quality counts each file once (its latest load), equal to DuckDB; files of one name in two folders are two files', async () => {
    const dir = join(root, 'twice');
    cpSync(clean, join(dir, 'a'), { recursive: true });
    cpSync(clean, join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'junk.jsonl'), '\n{"not":"a record"}\n');
    const database = privateDatabase('sy_hostile');
    await database.create();
    try {
      const duck = await analyzeStore(() => openDuckDbStore(dir), options);
      for (let i = 0; i < 2; i++) await loadJsonlIntoPostgres(database.url, dir);
      const post = await analyzeStore(() => openPostgresStore(database.url), options);
      expect(duck.dataQuality.files).toBe(2 * expected.dataQuality.files + 1);
      expect(post.dataQuality).toEqual(duck.dataQuality);
    } finally {
      await database.drop();
    }
  }, 120_000);
});
