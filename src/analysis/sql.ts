/**
 * The analysis's SQL, one text for DuckDB and PostgreSQL (the dialect both speak:
 * FILTER, string_agg ... ORDER BY, array_agg, unnest,
 * percentile_cont WITHIN GROUP, CAST(... AS DOUBLE PRECISION)).
 * Every value from data or config is a bound parameter; the only text assembled here is
 * from fixed fragments (column names seg_0.., placeholders $n, step expressions), never from names.
 *
 * The data is read twice per analysis, however many experiments it covers, and nothing
 * else reads it (the bare GROUP BY it is benchmarked against reads it twice too):
 *   sy_fa   scan of sy_lines: one row per (experiment, exposed unit) of the analysed
 *           experiments: first variant, variants (1, or 2 for more than one), first exposure t0, the
 *           allow-listed attributes at exposure (seg_0..seg_k); one row per other
 *           experiment; and in every row the malformed lines it grouped (data quality)
 *   sy_uea  scan of sy_events, each event id once (at-least-once delivery repeats lines),
 *           joined to sy_fa: one row per (experiment, unit, event name) with events in the
 *           attribution window: counts, sums, squares, errors, time to first event, the
 *           times (event paths), and the same before exposure (CUPED)
 * Per experiment, the views sy_f and sy_ue show that experiment's rows of sy_fa and sy_uea
 * (the experiment in the one-row table sy_cur); every other query reads only those.
 */
const D = 'DOUBLE PRECISION';

export const DROP_TABLES = [
  'DROP VIEW IF EXISTS sy_f',
  'DROP VIEW IF EXISTS sy_ue',
  ...['sy_cur', 'sy_fa', 'sy_uea'].map((t) => `DROP TABLE IF EXISTS ${t}`),
];

/**
 * The exposure scan. Params: $1..$s segment attribute names, then the analysed experiments
 * ($s+1..$s+r; none = every experiment). sy_lines: kind 1 a valid exposure, 2 a valid event,
 * NULL a malformed line (DuckDB reads every line of the files; PostgreSQL's holds only
 * exposures, its bad lines were counted by `load`).
 */
export function fillAllUnits(segments: number, requested: number): string {
  const segs = Array.from(
    { length: segments },
    (_, i) => `, min(CASE WHEN k IS NOT NULL THEN attributes ->> CAST($${i + 1} AS TEXT) END) AS seg_${i}`,
  ).join('');
  const wanted =
    requested === 0
      ? 'TRUE'
      : `experiment IN (${Array.from({ length: requested }, (_, i) => `CAST($${segments + i + 1} AS TEXT)`).join(', ')})`;
  return `CREATE TEMP TABLE sy_fa AS
    SELECT experiment, k AS unit, min(variant) FILTER (WHERE kind = 1) AS variant,
      CAST(CASE WHEN min(variant) FILTER (WHERE kind = 1) = max(variant) FILTER (WHERE kind = 1) THEN 1 ELSE 2 END AS ${D}) AS variants, min(t) FILTER (WHERE kind = 1) AS t0${segs},
      CAST(count(*) FILTER (WHERE kind = 1) AS ${D}) AS exposures, CAST(count(*) FILTER (WHERE kind IS NULL) AS ${D}) AS malformed
    FROM (SELECT kind, experiment, variant, t, attributes, CASE WHEN kind = 1 AND ${wanted} THEN unit END AS k FROM sy_lines) r
    GROUP BY experiment, k`;
}

/** Statistics for the planner (PostgreSQL does not gather them for temp tables by itself). */
export const ANALYZE_UNITS = 'ANALYZE sy_fa';
export const ANALYZE_UNIT_EVENTS = 'ANALYZE sy_uea';

/** Experiments with valid exposures, and the malformed lines the scan counted. */
export const EXPERIMENTS = `SELECT experiment FROM sy_fa WHERE experiment IS NOT NULL GROUP BY experiment
  HAVING sum(exposures) > 0 ORDER BY experiment`;
export const MALFORMED = `SELECT CAST(coalesce(sum(malformed), 0) AS ${D}) AS malformed FROM sy_fa`;

/**
 * The event scan. Params: $1 attribution window in seconds (after exposure, and the same
 * length before it for CUPED). A repeated id counts once (the lines are identical copies).
 */
export const FILL_ALL_UNIT_EVENTS = `CREATE TEMP TABLE sy_uea AS
  SELECT f.experiment, f.unit, f.variant, e.event,
    CAST(count(*) FILTER (WHERE e.t >= f.t0) AS ${D}) AS cnt,
    sum(e.value) FILTER (WHERE e.t >= f.t0) AS val,
    sum(e.value * e.value) FILTER (WHERE e.t >= f.t0) AS val2,
    CAST(count(*) FILTER (WHERE e.t >= f.t0 AND e.err = 1) AS ${D}) AS err,
    min(e.t) FILTER (WHERE e.t >= f.t0) - f.t0 AS first_t,
    CAST(count(*) FILTER (WHERE e.t < f.t0) AS ${D}) AS pre_cnt,
    sum(e.value) FILTER (WHERE e.t < f.t0) AS pre_val,
    array_agg(e.t) FILTER (WHERE e.t >= f.t0) AS ts
  FROM sy_fa f JOIN (
      SELECT unit, event, min(value) AS value, min(t) AS t,
        max(CASE WHEN (properties ->> 'error') = 'true' THEN 1 ELSE 0 END) AS err
      FROM sy_events GROUP BY id, unit, event) e ON e.unit = f.unit
  WHERE f.unit IS NOT NULL AND f.variants = 1 AND e.t >= f.t0 - CAST($1 AS ${D}) AND e.t < f.t0 + CAST($1 AS ${D})
  GROUP BY f.experiment, f.unit, f.variant, f.t0, e.event`;

/** The views of the current experiment's rows, after the scans. */
export function experimentViews(segments: number): string[] {
  const segs = Array.from({ length: segments }, (_, i) => `, seg_${i}`).join('');
  return [
    'CREATE TEMP TABLE sy_cur (experiment TEXT)',
    `CREATE TEMP VIEW sy_f AS SELECT unit, variant, variants, t0${segs} FROM sy_fa
     WHERE experiment = (SELECT experiment FROM sy_cur) AND unit IS NOT NULL`,
    `CREATE TEMP VIEW sy_ue AS SELECT unit, variant, event, cnt, val, val2, err, first_t, pre_cnt, pre_val, ts FROM sy_uea
     WHERE experiment = (SELECT experiment FROM sy_cur)`,
  ];
}

/** Makes $1 the current experiment of the views. */
export const SET_EXPERIMENT = ['DELETE FROM sy_cur', 'INSERT INTO sy_cur VALUES (CAST($1 AS TEXT))'];

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
  // Units without events reach no step: the per-unit steps come from sy_ue alone, the units from sy_f.
  return `SELECT a.variant, a.units, ${Array.from({ length: steps }, (_, k) => `coalesce(r.r${k}, 0) AS r${k}`).join(', ')}
  FROM (SELECT variant, CAST(count(*) AS ${D}) AS units FROM sy_f WHERE variants = 1 GROUP BY variant) a
  LEFT JOIN (SELECT variant, ${reached}
    FROM (SELECT u.unit, u.variant, ${cols} FROM sy_ue u GROUP BY u.unit, u.variant) x
    GROUP BY variant) r ON r.variant = a.variant
  ORDER BY a.variant`;
}

/**
 * The first three events after exposure, per unit, counted by path (from the times each
 * sy_ue row keeps): the unit's events in order of (time, name), cut after the third.
 */
export const PATHS = `SELECT variant, path, CAST(count(*) AS ${D}) AS units FROM (
    SELECT unit, variant,
      array_to_string((string_to_array(string_agg(event, chr(31) ORDER BY t, event), chr(31)))[1:3], chr(31)) AS path
    FROM (SELECT unit, variant, event, unnest(ts) AS t FROM sy_ue WHERE cnt > 0) a
    GROUP BY unit, variant) y
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
