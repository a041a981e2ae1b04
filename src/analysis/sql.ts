/**
 * The analysis's SQL, one text for DuckDB and PostgreSQL (the dialect both speak:
 * FILTER, GROUPING SETS, window functions, concat_ws, percentile_cont WITHIN GROUP,
 * CAST(... AS DOUBLE PRECISION)).
 * Every value from data or config is a bound parameter; the only text assembled here is
 * from fixed fragments (column names seg_0.., placeholders $n, step expressions), never from names.
 *
 * The data is read twice per analysis, however many experiments it covers, and nothing
 * else reads it but a latency_p95 guardrail (the bare GROUP BY it is benchmarked against
 * reads it twice too):
 *   sy_fa   scan of sy_lines: one row per (experiment, exposed unit) of the analysed
 *           experiments, numbered (uid: every later join, window and aggregate is keyed by
 *           this integer, not by the unit's string, often a 36-character UUID): first
 *           variant, variants (1, or 2 for more than one), first exposure t0, the
 *           allow-listed attributes at exposure (seg_0..seg_k), the allocation version of
 *           its first exposure when an adaptive experiment is analysed; one row per other
 *           experiment; and in every row the malformed lines it grouped (data quality)
 *   sy_uea  scan of sy_events_once (each event id once: at-least-once delivery repeats lines),
 *           joined to sy_fa: one row per (uid, event name) with events in the
 *           attribution window: counts, sums, squares, errors, time to first event, the
 *           ranks among the unit's first three events (event paths), and the same before
 *           exposure (CUPED). No per-unit lists: every operator is one the engine can spill.
 * Per experiment, the views sy_f and sy_ue show that experiment's rows of sy_fa and sy_uea
 * (the experiment in the one-row table sy_cur); every other query reads only those.
 */
const D = 'DOUBLE PRECISION';

/**
 * The largest magnitude an event's value may have; a value beyond it (or not a finite JSON
 * number) makes the line malformed on both stores. The analysis sums values and their
 * squares over units: at 1e15 a square is 1e30 and a sum of a billion of them stays far
 * inside a double, where one 1e155 overflowed the sum of squares to Infinity and a NaN or
 * Infinity made every mean_value statistic NaN.
 */
export const MAX_VALUE = 1e15;

/**
 * What a record's `ts` must be, on both stores (a regular expression both engines read alike):
 * an RFC 3339 date-time with its offset, `Z` or +hh:mm / -hh:mm (hours up to 15, PostgreSQL's
 * limit), a year from 0001 (PostgreSQL has no year 0), T or a space between date and time, any
 * fraction of a second (both stores cut it to microseconds). Anything else makes the line
 * malformed. Each engine's own parser took more, and not the same: PostgreSQL read "now",
 * "today", "infinity", lowercase t and z, a leap second and RFC 2822 dates that DuckDB refused,
 * and a ts without an offset was read in DuckDB's time zone (the machine's) and in the
 * PostgreSQL server's: the same files gave other numbers elsewhere.
 */
export const TS_PATTERN = String.raw`^(000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-](0\d|1[0-5]):[0-5]\d)$`;

export const DROP_TABLES = [
  'DROP VIEW IF EXISTS sy_f',
  'DROP VIEW IF EXISTS sy_ue',
  ...['sy_cur', 'sy_fa', 'sy_uea'].map((t) => `DROP TABLE IF EXISTS ${t}`),
];

/**
 * The times a record may have (epoch seconds), as `t` of its line: from 2000-01-01 (older is
 * a clock or a writer that was wrong, e.g. 1970 from a zero timestamp) to $hi, the analysis
 * time plus a day of clock skew (NULL: no upper bound). One far-off exposure would otherwise
 * stretch the experiment's runtime (min t0 .. max t0) by decades.
 */
export const EARLIEST_T = Date.UTC(2000, 0, 1) / 1000;
export const CLOCK_SKEW_S = 86_400;
const inTime = (t: string, lo: number, hi: number) =>
  `(${t} >= CAST($${lo} AS ${D}) AND (CAST($${hi} AS ${D}) IS NULL OR ${t} <= CAST($${hi} AS ${D})))`;

/**
 * The exposure scan. Params: $1..$s segment attribute names, then the analysed experiments
 * ($s+1..$s+r; none = every experiment), then the earliest and latest plausible time
 * ($s+r+1, $s+r+2: see EARLIEST_T). sy_lines: kind 1 a valid exposure, 2 a valid event,
 * NULL a malformed line (DuckDB reads every line of the files; PostgreSQL's holds only
 * exposures and events, its bad lines were counted by `load`). A valid exposure or event
 * outside the plausible times becomes kind 3 or 4: left out, and counted once per id (its
 * id is a group of its own, so a line delivered twice counts once on DuckDB as on
 * PostgreSQL, whose load kept one), as an exposure or an event by its experiment (only an
 * exposure's is kept). (Events outside them are left out by the event scan.)
 */
export function fillAllUnits(segments: number, requested: number, versions = false): string {
  const segs = Array.from(
    { length: segments },
    (_, i) => `, min(CASE WHEN k IS NOT NULL THEN attributes ->> CAST($${i + 1} AS TEXT) END) AS seg_${i}`,
  ).join('');
  const wanted =
    requested === 0
      ? 'TRUE'
      : `experiment IN (${Array.from({ length: requested }, (_, i) => `CAST($${segments + i + 1} AS TEXT)`).join(', ')})`;
  const lo = segments + requested + 1;
  return `CREATE TEMP TABLE sy_fa AS SELECT row_number() OVER () AS uid, g.* FROM (
    SELECT experiment, k AS unit, min(variant) FILTER (WHERE kind = 1) AS variant,
      CAST(CASE WHEN min(variant) FILTER (WHERE kind = 1) = max(variant) FILTER (WHERE kind = 1) THEN 1 ELSE 2 END AS ${D}) AS variants, min(t) FILTER (WHERE kind = 1) AS t0${segs},
      ${versions ? 'min(version) FILTER (WHERE kind = 1)' : `CAST(NULL AS ${D})`} AS version,
      CAST(count(*) FILTER (WHERE kind = 1) AS ${D}) AS exposures, CAST(count(*) FILTER (WHERE kind IS NULL) AS ${D}) AS malformed,
      CAST(CASE WHEN late IS NOT NULL AND experiment IS NOT NULL THEN 1 ELSE 0 END AS ${D}) AS out_of_range,
      CAST(CASE WHEN late IS NOT NULL AND experiment IS NULL THEN 1 ELSE 0 END AS ${D}) AS out_of_range_events
    FROM (SELECT kind, experiment, variant, t, attributes${versions ? ', version' : ''}, CASE WHEN kind = 1 AND ${wanted} THEN unit END AS k, late
      FROM (SELECT CASE WHEN kind IN (1, 2) AND NOT ${inTime('t', lo, lo + 1)} THEN kind + 2 ELSE kind END AS kind,
          CASE WHEN kind = 1 THEN experiment END AS experiment, variant, t,
          attributes${versions ? ', version' : ''}, unit, CASE WHEN kind IN (1, 2) AND NOT ${inTime('t', lo, lo + 1)} THEN id END AS late
        FROM sy_lines) l) r
    GROUP BY experiment, k, late) g`;
}

/** Statistics for the planner (PostgreSQL does not gather them for temp tables by itself). */
export const ANALYZE_UNITS = 'ANALYZE sy_fa';
export const ANALYZE_UNIT_EVENTS = 'ANALYZE sy_uea';

/** Experiments with valid exposures, and the malformed lines the scan counted. */
export const EXPERIMENTS = `SELECT experiment FROM sy_fa WHERE experiment IS NOT NULL GROUP BY experiment
  HAVING sum(exposures) > 0 ORDER BY experiment`;
export const MALFORMED = `SELECT CAST(coalesce(sum(malformed), 0) AS ${D}) AS malformed,
  CAST(coalesce(sum(out_of_range), 0) AS ${D}) AS out_of_range,
  CAST(coalesce(sum(out_of_range_events), 0) AS ${D}) AS out_of_range_events FROM sy_fa`;

/**
 * The event scan. Params: $1 attribution window in seconds (after exposure, and the same
 * length before it for CUPED), $2 and $3 the plausible times (see EARLIEST_T; events
 * outside them are left out, not counted). A repeated id counts once (sy_events_once, store.ts).
 * Event paths without per-unit lists: each attributed event's rank among its unit's events
 * after exposure, in order of (time, name) (a window over the joined rows, which the engine
 * sorts and spills like any other operator), kept as a bitmask per (unit, event name):
 * 1, 2 and 4 for ranks 1, 2 and 3 (first3); the unit pass rebuilds the path from it.
 */
export const FILL_ALL_UNIT_EVENTS = `CREATE TEMP TABLE sy_uea AS
  SELECT uid, experiment, variant, t0, event,
    CAST(count(*) FILTER (WHERE post) AS ${D}) AS cnt,
    sum(value) FILTER (WHERE post) AS val,
    sum(value * value) FILTER (WHERE post) AS val2,
    CAST(count(*) FILTER (WHERE post AND err = 1) AS ${D}) AS err,
    min(t) FILTER (WHERE post) - t0 AS first_t,
    CAST(count(*) FILTER (WHERE NOT post) AS ${D}) AS pre_cnt,
    sum(value) FILTER (WHERE NOT post) AS pre_val,
    CAST(sum(CASE WHEN rk = 1 THEN 1 WHEN rk = 2 THEN 2 WHEN rk = 3 THEN 4 ELSE 0 END) FILTER (WHERE post) AS INTEGER) AS first3
  FROM (SELECT f.uid, f.experiment, f.variant, f.t0, e.event, e.value, e.t, e.err, e.t >= f.t0 AS post,
      row_number() OVER (PARTITION BY f.uid, e.t >= f.t0 ORDER BY e.t, e.event) AS rk
    FROM sy_fa f JOIN sy_events_once e ON e.unit = f.unit
    WHERE f.unit IS NOT NULL AND f.variants = 1 AND e.t >= f.t0 - CAST($1 AS ${D}) AND e.t < f.t0 + CAST($1 AS ${D})
      AND ${inTime('e.t', 2, 3)}) j
  GROUP BY uid, experiment, variant, t0, event`;

/** The views of the current experiment's rows, after the scans. */
export function experimentViews(segments: number): string[] {
  const segs = Array.from({ length: segments }, (_, i) => `, seg_${i}`).join('');
  return [
    'CREATE TEMP TABLE sy_cur (experiment TEXT)',
    `CREATE TEMP VIEW sy_f AS SELECT uid, unit, variant, variants, t0, version${segs} FROM sy_fa
     WHERE experiment = (SELECT experiment FROM sy_cur) AND unit IS NOT NULL`,
    `CREATE TEMP VIEW sy_ue AS SELECT uid, variant, t0, event, cnt, val, val2, err, first_t, pre_cnt, pre_val, first3 FROM sy_uea
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

/**
 * An adaptive experiment's strata: units per variant and allocation version (of each unit's
 * first exposure; NULL when its line had none), the one-variant units only.
 */
export const STRATA_UNITS = `SELECT variant, version, CAST(count(*) AS ${D}) AS units
  FROM sy_f WHERE variants = 1 GROUP BY variant, version`;

/**
 * Sufficient statistics per variant, allocation version and event name (units without the
 * event add zeros; STRATA_UNITS has each stratum's units), as PER_EVENT's without the version.
 */
export const STRATA_EVENTS = `SELECT f.variant, f.version, u.event,
    CAST(count(*) FILTER (WHERE u.cnt > 0) AS ${D}) AS converted,
    sum(u.cnt) AS cnt, sum(u.cnt * u.cnt) AS cnt2,
    coalesce(sum(u.val), 0) AS val, coalesce(sum(coalesce(u.val, 0) * coalesce(u.val, 0)), 0) AS val_unit2
  FROM sy_f f JOIN sy_ue u ON u.uid = f.uid
  WHERE f.variants = 1 GROUP BY f.variant, f.version, u.event`;

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

/**
 * Units, converters and value per variant and group, for every grouping in one pass
 * (GROUPING SETS): gs -2 by exposure day (g_day), -1 by exposure week (g_week), i by
 * segment attribute i (g_s<i>, '(none)' when absent); the other group columns are NULL.
 * Params: $1 event, $2 origin t.
 */
export function groupedOutcomes(segments: number): string {
  const segs = Array.from({ length: segments }, (_, i) => `g_s${i}`);
  const segCols = segs.map((g, i) => `, coalesce(f.seg_${i}, '(none)') AS ${g}`).join('');
  const sets = ['g_day', 'g_week', ...segs];
  const gs = sets.map((g, i) => `WHEN GROUPING(${g}) = 0 THEN ${i - 2}`).join(' ');
  return `SELECT variant, CAST(CASE ${gs} END AS ${D}) AS gs, ${sets.join(', ')}, CAST(count(*) AS ${D}) AS units,
    CAST(count(uid) AS ${D}) AS converted, coalesce(sum(val), 0) AS val, coalesce(sum(val * val), 0) AS val2
  FROM (SELECT f.variant, CAST(floor((f.t0 - CAST($2 AS ${D})) / 86400) AS ${D}) AS g_day,
      CAST(floor((f.t0 - CAST($2 AS ${D})) / 604800) AS ${D}) AS g_week${segCols}, u.uid, u.val
    FROM sy_f f LEFT JOIN sy_ue u ON u.uid = f.uid AND u.event = CAST($1 AS TEXT) AND u.cnt > 0
    WHERE f.variants = 1 AND CAST($2 AS ${D}) IS NOT NULL) x
  GROUP BY GROUPING SETS (${sets.map((g) => `(variant, ${g})`).join(', ')})
  ORDER BY gs, variant, ${sets.join(', ')}`;
}

/**
 * One pass over each unit's rows of sy_ue for the funnel, the event paths and the bots,
 * grouped per variant (all_paths 1) and per variant and path (all_paths 0).
 *   funnel (ordered): step k is reached when every earlier step happened first: r0..r{k-1}.
 *   path: the unit's first three events after exposure in order of (time, name), joined by
 *     chr(31), rebuilt from the rank bitmask first3 (NULL for a unit with no event after exposure).
 *   bots: more attributed events per day than the cap, the rate taken over the days the unit
 *     could be observed (its window, cut at the last exposure of the experiment, at least one day).
 * Params: $1 cap per day, $2 window seconds, $3 end t, $4..$(3+k) the k funnel steps.
 */
export function unitPass(steps: number): string {
  const cols = Array.from(
    { length: steps },
    (_, i) => `, min(CASE WHEN event = CAST($${i + 4} AS TEXT) THEN first_t END) AS s${i}`,
  ).join('');
  const reached = Array.from({ length: steps }, (_, k) => {
    const conds = ['s0 IS NOT NULL', ...Array.from({ length: k }, (_, j) => `s${j + 1} >= s${j}`)];
    return `, CAST(count(*) FILTER (WHERE ${conds.join(' AND ')}) AS ${D}) AS r${k}`;
  }).join('');
  return `SELECT variant, path, CAST(GROUPING(path) AS ${D}) AS all_paths, CAST(count(*) AS ${D}) AS units,
    CAST(count(*) FILTER (WHERE bot) AS ${D}) AS bots${reached}
  FROM (SELECT variant,
      CASE WHEN max(first3) > 0 THEN concat_ws(chr(31), max(CASE WHEN first3 IN (1, 3, 5, 7) THEN event END),
        max(CASE WHEN first3 IN (2, 3, 6, 7) THEN event END), max(CASE WHEN first3 >= 4 THEN event END)) END AS path,
      sum(cnt) > CAST($1 AS ${D}) * greatest(1.0, least(CAST($2 AS ${D}), CAST($3 AS ${D}) - min(t0)) / 86400.0) AS bot${cols}
    FROM sy_ue GROUP BY uid, variant) x
  GROUP BY GROUPING SETS ((variant), (variant, path))
  ORDER BY all_paths DESC, variant, units DESC, path`;
}

/**
 * 95th percentile of an event's value per variant (run() latency), each event id once as in
 * the event scan. Params: $1 event, $2 window seconds, $3 and $4 the plausible times.
 */
export const P95 = `SELECT f.variant, percentile_cont(0.95) WITHIN GROUP (ORDER BY e.value) AS p95
  FROM sy_f f JOIN sy_events_once e ON e.unit = f.unit
  WHERE e.event = CAST($1 AS TEXT) AND f.variants = 1 AND e.value IS NOT NULL AND e.t >= f.t0 AND e.t < f.t0 + CAST($2 AS ${D})
    AND ${inTime('e.t', 3, 4)}
  GROUP BY f.variant ORDER BY f.variant`;

/** The bare aggregation the analysis is benchmarked against: variant x event counts and sums, no attribution. */
export const BASELINE = `SELECT x.variant, e.event, count(*) AS n, sum(e.value) AS s
  FROM sy_events e JOIN (SELECT unit, min(variant) AS variant FROM sy_exposures WHERE experiment = CAST($1 AS TEXT) GROUP BY unit) x
    ON x.unit = e.unit
  GROUP BY x.variant, e.event`;

/**
 * The primary metric's aggregation with the analysis's attribution, as one bare GROUP BY (the
 * second reference the analysis is benchmarked against): each event id once, a unit's first
 * exposure, units of one variant only, events within the window after the first exposure;
 * per variant and event the converted units and the per-unit counts and sums with squares.
 * Params: $1 experiment, $2 window seconds.
 */
export const ATTRIBUTED_BASELINE = `SELECT variant, event, count(*) AS converted, sum(n) AS n, sum(n * n) AS n2,
    sum(s) AS s, sum(s * s) AS s2
  FROM (SELECT x.unit, x.variant, e.event, count(*) AS n, sum(e.value) AS s
    FROM (SELECT unit, min(variant) AS variant, max(variant) AS last_variant, min(t) AS t0
        FROM sy_exposures WHERE experiment = CAST($1 AS TEXT) GROUP BY unit) x
      JOIN sy_events_once e ON e.unit = x.unit
    WHERE x.variant = x.last_variant AND e.t >= x.t0 AND e.t < x.t0 + CAST($2 AS ${D})
    GROUP BY x.unit, x.variant, e.event) u
  GROUP BY variant, event`;
