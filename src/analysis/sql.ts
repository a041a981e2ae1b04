/**
 * The analysis's SQL, one text for DuckDB and PostgreSQL (the dialect both speak:
 * FILTER, string_agg ... ORDER BY, percentile_cont WITHIN GROUP, CAST(... AS DOUBLE PRECISION)).
 * Every value from data or config is a bound parameter; the only text assembled here is
 * from fixed fragments (column names seg_0.., step expressions), never from names.
 *
 * Two session temp tables carry the work, so each file or table is scanned once for
 * exposures and once for events:
 *   sy_f   one row per exposed unit: first variant, number of variants, first exposure t0,
 *          the allow-listed attributes at exposure (seg_0..seg_k)
 *   sy_ue  one row per (unit, event name) with events in the attribution window: counts,
 *          sums, squares, errors, time to first event, and the same before exposure (CUPED)
 */
const D = 'DOUBLE PRECISION';

export function createTables(segments: number): string[] {
  const segs = Array.from({ length: segments }, (_, i) => `, seg_${i} TEXT`).join('');
  return [
    'DROP TABLE IF EXISTS sy_f',
    'DROP TABLE IF EXISTS sy_ue',
    `CREATE TEMP TABLE sy_f (unit TEXT, variant TEXT, variants ${D}, t0 ${D}${segs})`,
    `CREATE TEMP TABLE sy_ue (unit TEXT, variant TEXT, event TEXT, cnt ${D}, val ${D}, val2 ${D}, err ${D}, first_t ${D}, pre_cnt ${D}, pre_val ${D})`,
  ];
}

export const DROP_TABLES = ['DROP TABLE IF EXISTS sy_f', 'DROP TABLE IF EXISTS sy_ue'];

/** Params: $1 experiment, $2.. segment attribute names. */
export function fillUnits(segments: number): string {
  const segs = Array.from({ length: segments }, (_, i) => `, min(attributes ->> CAST($${i + 2} AS TEXT))`).join('');
  return `INSERT INTO sy_f
    SELECT unit, min(variant), CAST(count(DISTINCT variant) AS ${D}), min(t)${segs}
    FROM sy_exposures WHERE experiment = CAST($1 AS TEXT) GROUP BY unit`;
}

/** Params: $1 attribution window in seconds (after exposure, and the same length before it for CUPED). */
export const FILL_UNIT_EVENTS = `INSERT INTO sy_ue
  SELECT f.unit, f.variant, e.event,
    CAST(count(*) FILTER (WHERE e.t >= f.t0) AS ${D}),
    sum(e.value) FILTER (WHERE e.t >= f.t0),
    sum(e.value * e.value) FILTER (WHERE e.t >= f.t0),
    CAST(count(*) FILTER (WHERE e.t >= f.t0 AND (e.properties ->> 'error') = 'true') AS ${D}),
    min(e.t) FILTER (WHERE e.t >= f.t0) - f.t0,
    CAST(count(*) FILTER (WHERE e.t < f.t0) AS ${D}),
    sum(e.value) FILTER (WHERE e.t < f.t0)
  FROM sy_f f JOIN sy_events e ON e.unit = f.unit
  WHERE f.variants = 1 AND e.t >= f.t0 - CAST($1 AS ${D}) AND e.t < f.t0 + CAST($1 AS ${D})
  GROUP BY f.unit, f.variant, f.t0, e.event`;

export const ARMS = `SELECT variant, CAST(count(*) AS ${D}) AS units, min(t0) AS start, max(t0) AS last
  FROM sy_f WHERE variants = 1 GROUP BY variant ORDER BY variant`;

export const MULTIPLE = `SELECT CAST(count(*) AS ${D}) AS units FROM sy_f WHERE variants > 1`;

/** Sufficient statistics per variant and event name (units without the event add zeros). */
export const PER_EVENT = `SELECT variant, event,
    CAST(count(*) FILTER (WHERE cnt > 0) AS ${D}) AS converted,
    sum(cnt) AS cnt, sum(cnt * cnt) AS cnt2,
    coalesce(sum(val), 0) AS val, coalesce(sum(coalesce(val, 0) * coalesce(val, 0)), 0) AS val_unit2,
    coalesce(sum(val2), 0) AS val_event2, sum(err) AS err,
    coalesce(sum(first_t) FILTER (WHERE cnt > 0), 0) AS ttf, coalesce(sum(first_t * first_t) FILTER (WHERE cnt > 0), 0) AS ttf2,
    CAST(count(*) FILTER (WHERE pre_cnt > 0) AS ${D}) AS pre_units
  FROM sy_ue GROUP BY variant, event ORDER BY variant, event`;

/** Per-unit outcome y and pre-exposure covariate x of one event, by statistic (fixed fragments). */
const Y = {
  conversion: ['CASE WHEN cnt > 0 THEN 1.0 ELSE 0.0 END', 'CASE WHEN pre_cnt > 0 THEN 1.0 ELSE 0.0 END'],
  mean_value: ['coalesce(val, 0)', 'coalesce(pre_val, 0)'],
  events_per_unit: ['cnt', 'pre_cnt'],
} as const;

/** CUPED sums for one event. Params: $1 event. Units without rows have x = y = 0. */
export function cupedSums(statistic: keyof typeof Y): string {
  const [y, x] = Y[statistic];
  return `SELECT variant, sum(${y}) AS sy, sum((${y}) * (${y})) AS syy, sum(${x}) AS sx, sum((${x}) * (${x})) AS sxx,
    sum((${x}) * (${y})) AS sxy
  FROM sy_ue WHERE event = CAST($1 AS TEXT) GROUP BY variant ORDER BY variant`;
}

/** Units, converters and value per variant and group; the group is a fixed expression. Params: $1 event, $2 origin t. */
export function groupedOutcome(group: string): string {
  return `SELECT f.variant, ${group} AS grp, CAST(count(*) AS ${D}) AS units,
    CAST(count(u.unit) AS ${D}) AS converted, coalesce(sum(u.val), 0) AS val, coalesce(sum(u.val * u.val), 0) AS val2
  FROM sy_f f LEFT JOIN sy_ue u ON u.unit = f.unit AND u.event = CAST($1 AS TEXT) AND u.cnt > 0
  WHERE f.variants = 1 AND CAST($2 AS ${D}) IS NOT NULL
  GROUP BY f.variant, ${group} ORDER BY 1, 2`;
}

export const BY_DAY = `CAST(floor((f.t0 - CAST($2 AS ${D})) / 86400) AS ${D})`;
export const BY_WEEK = `CAST(floor((f.t0 - CAST($2 AS ${D})) / 604800) AS ${D})`;
export const bySegment = (i: number) => `coalesce(f.seg_${i}, '(none)')`;

/** Ordered funnel: a step counts when every earlier step happened first. Params: $1..$k step events. */
export function funnel(steps: number): string {
  const cols = Array.from(
    { length: steps },
    (_, i) => `min(CASE WHEN u.event = CAST($${i + 1} AS TEXT) THEN u.first_t END) AS s${i}`,
  ).join(', ');
  const reached = Array.from({ length: steps }, (_, k) => {
    const conds = ['s0 IS NOT NULL', ...Array.from({ length: k }, (_, j) => `s${j + 1} >= s${j}`)];
    return `CAST(count(*) FILTER (WHERE ${conds.join(' AND ')}) AS ${D}) AS r${k}`;
  }).join(', ');
  return `SELECT variant, CAST(count(*) AS ${D}) AS units, ${reached}
  FROM (SELECT f.unit, f.variant, ${cols} FROM sy_f f LEFT JOIN sy_ue u ON u.unit = f.unit
        WHERE f.variants = 1 GROUP BY f.unit, f.variant) x
  GROUP BY variant ORDER BY variant`;
}

/** The first three events after exposure, per unit, counted by path. Params: $1 window seconds. */
export const PATHS = `SELECT variant, path, CAST(count(*) AS ${D}) AS units FROM (
    SELECT unit, variant, string_agg(event, chr(31) ORDER BY t, event) AS path FROM (
      SELECT f.unit, f.variant, e.event, e.t,
        row_number() OVER (PARTITION BY f.unit ORDER BY e.t, e.event) AS rn
      FROM sy_f f JOIN sy_events e ON e.unit = f.unit
      WHERE f.variants = 1 AND e.t >= f.t0 AND e.t < f.t0 + CAST($1 AS ${D})) x
    WHERE rn <= 3 GROUP BY unit, variant) y
  GROUP BY variant, path ORDER BY variant, units DESC, path`;

/** 95th percentile of an event's value per variant (run() latency). Params: $1 event, $2 window seconds. */
export const P95 = `SELECT f.variant, percentile_cont(0.95) WITHIN GROUP (ORDER BY e.value) AS p95
  FROM sy_f f JOIN sy_events e ON e.unit = f.unit
  WHERE f.variants = 1 AND e.event = CAST($1 AS TEXT) AND e.value IS NOT NULL AND e.t >= f.t0 AND e.t < f.t0 + CAST($2 AS ${D})
  GROUP BY f.variant ORDER BY f.variant`;

/**
 * Bot-like units: more attributed events per day than the cap, the rate taken over the
 * days each unit could be observed (its window, cut at the last exposure of the experiment,
 * at least one day). Params: $1 cap per day, $2 window seconds, $3 end t.
 */
export const BOTS = `SELECT x.variant, CAST(count(*) AS ${D}) AS units FROM (
    SELECT u.unit, u.variant, sum(u.cnt) AS c FROM sy_ue u GROUP BY u.unit, u.variant) x
  JOIN sy_f f ON f.unit = x.unit
  WHERE x.c > CAST($1 AS ${D}) * greatest(1.0, least(CAST($2 AS ${D}), CAST($3 AS ${D}) - f.t0) / 86400.0)
  GROUP BY x.variant ORDER BY x.variant`;

/** The bare aggregation the analysis is benchmarked against: variant x event counts and sums, no attribution. */
export const BASELINE = `SELECT x.variant, e.event, count(*) AS n, sum(e.value) AS s
  FROM sy_events e JOIN (SELECT unit, min(variant) AS variant FROM sy_exposures WHERE experiment = CAST($1 AS TEXT) GROUP BY unit) x
    ON x.unit = e.unit
  GROUP BY x.variant, e.event`;
