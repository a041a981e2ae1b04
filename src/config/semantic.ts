/**
 * Rules that relate fields to each other. They run on the raw value next to the zod
 * schema (not after it), defensively checking types as they go, so one pass reports
 * every problem in the file.
 */
import { isBuiltin } from 'node:module';
import { parseDuration, DURATION_FORMAT } from './duration.js';
import { configMessages as m } from './messages.js';
import { quote } from './quote.js';
import { ADAPTIVE_KEYS, PLATFORM_LIMITS, WEIGHT_TOTAL } from './schema.js';

/** The shortest sticky_ttl: a returning unit's visits are further apart than that only when it has gone. */
const MIN_STICKY_TTL_MS = 3_600_000;
/** The longest: ten years (Redis refuses an expiry past its range, and the hash would then never expire). */
const MAX_STICKY_TTL_MS = 3650 * 86_400_000;

export type Path = readonly (string | number)[];
export interface RawProblem {
  path: Path;
  message: string;
  /** Point at the key of the last path segment rather than its value (unknown keys). */
  atKey?: boolean;
}

/**
 * How a message shows a value found at a path: quoted and cut short, or, for a value
 * interpolated from the environment, a placeholder (load.ts).
 */
export type ShowValue = (value: unknown, path: Path) => string;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function semanticProblems(raw: unknown, show: ShowValue): RawProblem[] {
  const problems: RawProblem[] = [];
  if (!isRecord(raw)) return problems;
  const defaults = isRecord(raw.experiment_config) ? raw.experiment_config : {};
  const defaultMode = typeof defaults.traffic_allocation === 'string' ? defaults.traffic_allocation : 'fixed';

  // Each platform once: two sinks of one name would share a place in the journal, and every
  // event would be sent twice.
  const platforms: unknown = raw.analytics_platforms;
  if (Array.isArray(platforms))
    platforms.forEach((p: unknown, i) => {
      if (typeof p === 'string' && platforms.indexOf(p) < i)
        problems.push({
          path: ['analytics_platforms', i],
          message: m.platformTwice(quote(p)),
        });
    });

  const unleash = isRecord(raw.feature_flags) ? raw.feature_flags.unleash : undefined;
  if (isRecord(unleash)) {
    if (unleash.offline === true && unleash.bootstrap === undefined)
      problems.push({ path: ['feature_flags', 'unleash', 'offline'], message: m.unleashOfflineNeedsBootstrap });
    if (unleash.offline !== true && unleash.url === undefined)
      problems.push({ path: ['feature_flags', 'unleash'], message: m.unleashNeedsUrl });
    // Without a url of its own or the client's, the adapter would have no control plane, and
    // kills and `ramp --vendor` would say the config has no control_plane credentials.
    if (isRecord(unleash.control_plane) && unleash.control_plane.url === undefined && unleash.url === undefined)
      problems.push({ path: ['feature_flags', 'unleash', 'control_plane'], message: m.unleashControlNeedsUrl });
  }

  const openfeature = isRecord(raw.feature_flags) ? raw.feature_flags.openfeature : undefined;
  if (isRecord(openfeature) && typeof openfeature.module === 'string' && isBuiltin(openfeature.module)) {
    const path = ['feature_flags', 'openfeature', 'module'];
    problems.push({ path, message: m.openfeatureBuiltin(show(openfeature.module, path)) });
  }

  const flags =
    isRecord(raw.feature_flags) && isRecord(raw.feature_flags.memory) ? raw.feature_flags.memory.flags : undefined;
  if (isRecord(flags)) {
    for (const [key, flag] of Object.entries(flags)) {
      const at = ['feature_flags', 'memory', 'flags', key];
      reserved(key, 'a flag', at, true, problems);
      if (isRecord(flag) && isRecord(flag.variants))
        for (const name of Object.keys(flag.variants))
          reserved(name, 'a variant', [...at, 'variants', name], true, problems);
      if (
        isRecord(flag) &&
        isRecord(flag.variants) &&
        typeof flag.defaultVariant === 'string' &&
        // Own keys only: `in` also finds __proto__, constructor, toString on every object.
        !Object.hasOwn(flag.variants, flag.defaultVariant)
      ) {
        const path = ['feature_flags', 'memory', 'flags', key, 'defaultVariant'];
        problems.push({
          path,
          message: m.memoryDefaultVariant(show(flag.defaultVariant, path), Object.keys(flag.variants)),
        });
      }
    }
  }

  const dedupe = isRecord(raw.exposures) && isRecord(raw.exposures.dedupe) ? raw.exposures.dedupe : undefined;
  if (dedupe && typeof dedupe.window === 'string' && parseDuration(dedupe.window) === undefined) {
    problems.push({
      path: ['exposures', 'dedupe', 'window'],
      message: m.expected(DURATION_FORMAT, show(dedupe.window, ['exposures', 'dedupe', 'window'])),
    });
  }

  const checkInterval = isRecord(raw.monitoring) ? raw.monitoring.check_interval : undefined;
  if (typeof checkInterval === 'string' && parseDuration(checkInterval) === undefined)
    problems.push({
      path: ['monitoring', 'check_interval'],
      message: m.expected(DURATION_FORMAT, show(checkInterval, ['monitoring', 'check_interval'])),
    });
  const analysis = isRecord(raw.analysis) ? raw.analysis : undefined;
  if (
    analysis &&
    typeof analysis.attribution_window === 'string' &&
    parseDuration(analysis.attribution_window) === undefined
  ) {
    problems.push({
      path: ['analysis', 'attribution_window'],
      message: m.expected(DURATION_FORMAT, show(analysis.attribution_window, ['analysis', 'attribution_window'])),
    });
  }
  if (isRecord(raw.fleet)) {
    const { redis, push_interval: push } = raw.fleet;
    if (typeof redis === 'string' && redis.length > 0 && !isRedisUrl(redis))
      problems.push({ path: ['fleet', 'redis'], message: m.fleetRedisUrl });
    if (typeof push === 'string' && parseDuration(push) === undefined)
      problems.push({
        path: ['fleet', 'push_interval'],
        message: m.expected(DURATION_FORMAT, show(push, ['fleet', 'push_interval'])),
      });
  }

  if (isRecord(raw.analytics)) problems.push(...platformLimitProblems(raw.analytics));

  if (!isRecord(raw.experiments)) return problems;
  const flagOwner = new Map<string, string>();
  for (const [key, exp] of Object.entries(raw.experiments)) {
    if (!isRecord(exp)) continue;
    const at = (...rest: (string | number)[]): Path => ['experiments', key, ...rest];
    reserved(key, 'an experiment', at(), true, problems);
    if (typeof exp.flag === 'string') reserved(exp.flag, 'a flag', at('flag'), false, problems);
    if (isRecord(exp.variants))
      for (const name of Object.keys(exp.variants)) reserved(name, 'a variant', at('variants', name), true, problems);
    if (typeof exp.primary_metric === 'string')
      reserved(exp.primary_metric, 'a metric', at('primary_metric'), false, problems);
    for (const field of ['secondary_metrics', 'funnel'] as const) {
      const names = exp[field];
      if (Array.isArray(names))
        names.forEach((name: unknown, i) => {
          if (typeof name === 'string') reserved(name, 'a metric', at(field, i), false, problems);
        });
    }
    if (Array.isArray(exp.guardrails))
      exp.guardrails.forEach((g: unknown, i: number) => {
        if (isRecord(g) && typeof g.metric === 'string')
          reserved(g.metric, 'a metric', at('guardrails', i, 'metric'), false, problems);
      });
    const flag = typeof exp.flag === 'string' ? exp.flag : key;
    const owner = flagOwner.get(flag);
    if (owner !== undefined)
      problems.push({ path: at('flag'), message: m.duplicateFlag(show(flag, at('flag')), quote(owner)) });
    else flagOwner.set(flag, key);

    const alloc = isRecord(exp.allocation) ? exp.allocation : {};
    const mode = typeof alloc.mode === 'string' ? alloc.mode : defaultMode;
    if (isRecord(exp.variants)) {
      const entries = Object.entries(exp.variants);
      const names = entries.map(([name]) => name);
      if (entries.length < 2) problems.push({ path: at('variants'), message: m.tooFewVariants(entries.length) });
      const weights = entries.map(([, v]) => (isRecord(v) ? v.weight : undefined));
      // adaptive: weights are optional (the burn-in split, equal when left out), but all or none.
      const weightsOptional = mode === 'adaptive' && weights.every((w) => w === undefined);
      if (!weightsOptional)
        entries.forEach(([name, v], i) => {
          if (isRecord(v) && weights[i] === undefined)
            problems.push({ path: at('variants', name, 'weight'), message: m.weightMissing });
        });
      if (weights.every((w): w is number => typeof w === 'number' && Number.isFinite(w))) {
        const sum = weights.reduce((a, b) => a + b, 0);
        if (Math.abs(sum - WEIGHT_TOTAL) > 1e-9)
          problems.push({ path: at('variants'), message: m.weightsSum(WEIGHT_TOTAL, sum) });
      }
      const control = typeof exp.control === 'string' ? exp.control : 'control';
      if (entries.length > 0 && !names.includes(control)) {
        problems.push({
          path: exp.control === undefined ? at('variants') : at('control'),
          message: m.controlMissing(show(control, at('control')), names),
        });
      }
    }

    if (mode === 'adaptive') adaptiveProblems(raw, exp, alloc, at, problems, show);
    else
      for (const k of ADAPTIVE_KEYS)
        if (alloc[k] !== undefined)
          problems.push({ path: at('allocation', k), atKey: true, message: m.onlyForMode(k, 'adaptive') });
    const provider = isRecord(raw.feature_flags) ? raw.feature_flags.provider : undefined;
    if (mode === 'provider' && provider === 'split' && isRecord(exp.variants) && 'control' in exp.variants) {
      problems.push({ path: at('variants', 'control'), atKey: true, message: m.splitReservedControl });
    }
    if (mode === 'gradual') {
      if (alloc.start === undefined) problems.push({ path: at('allocation'), message: m.gradualNeeds('start') });
      if (alloc.schedule === undefined) problems.push({ path: at('allocation'), message: m.gradualNeeds('schedule') });
      if (alloc.percent !== undefined)
        problems.push({ path: at('allocation', 'percent'), message: m.onlyForMode('percent', 'fixed') });
    } else {
      if (alloc.schedule !== undefined)
        problems.push({ path: at('allocation', 'schedule'), message: m.onlyForMode('schedule', 'gradual') });
      if (alloc.percent !== undefined && mode === 'adaptive')
        problems.push({ path: at('allocation', 'percent'), message: m.onlyForMode('percent', 'fixed') });
      if (alloc.start !== undefined && mode !== 'fixed')
        problems.push({ path: at('allocation', 'start'), message: m.onlyForMode('start', 'gradual') });
    }
    if (Array.isArray(alloc.schedule)) {
      let previous = -Infinity;
      alloc.schedule.forEach((step: unknown, i: number) => {
        if (!isRecord(step)) return;
        if (typeof step.percent === 'number') {
          if (step.percent < previous)
            problems.push({
              path: at('allocation', 'schedule', i, 'percent'),
              message: m.scheduleDecreasing(previous, step.percent),
            });
          previous = Math.max(previous, step.percent);
        }
        const isLast = i === (alloc.schedule as unknown[]).length - 1;
        if (step.dwell === undefined && !isLast)
          problems.push({ path: at('allocation', 'schedule', i), message: m.dwellRequired });
        if (typeof step.dwell === 'string' && parseDuration(step.dwell) === undefined) {
          problems.push({
            path: at('allocation', 'schedule', i, 'dwell'),
            message: m.expected(DURATION_FORMAT, show(step.dwell, at('allocation', 'schedule', i, 'dwell'))),
          });
        }
      });
    }

    if (Array.isArray(exp.guardrails)) {
      exp.guardrails.forEach((g: unknown, i: number) => {
        if (
          isRecord(g) &&
          g.max === undefined &&
          g.min === undefined &&
          g.max_relative_increase === undefined &&
          g.max_relative_decrease === undefined
        ) {
          problems.push({ path: at('guardrails', i), message: m.guardrailNoLimit });
        }
      });
    }
  }
  return problems;
}

/**
 * Names that every plain object has: a key __proto__ sets the prototype instead of making
 * a property (zod's parsed records, and any lookup table built from the config, drop it),
 * and constructor and prototype are found on lookups by name that did not check for own
 * keys. Refused rather than dropped without a word.
 */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function reserved(name: string, kind: string, path: Path, atKey: boolean, problems: RawProblem[]): void {
  if (RESERVED_NAMES.has(name)) problems.push({ path, atKey, message: m.reservedName(name, kind) });
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

/** adaptive: a primary metric to optimise, floors and holdout that fit in 100%, a Redis for sticky: redis. */
function adaptiveProblems(
  raw: Record<string, unknown>,
  exp: Record<string, unknown>,
  alloc: Record<string, unknown>,
  at: (...rest: (string | number)[]) => Path,
  problems: RawProblem[],
  show: ShowValue,
): void {
  if (typeof exp.primary_metric !== 'string')
    problems.push({
      path: exp.primary_metric === undefined ? at('allocation', 'mode') : at('primary_metric'),
      message: m.adaptiveNeedsMetric,
    });
  const arms = isRecord(exp.variants) ? Object.keys(exp.variants).length : 0;
  const holdout = typeof alloc.holdout === 'number' ? alloc.holdout : 0;
  if (holdout >= 100) problems.push({ path: at('allocation', 'holdout'), message: m.holdoutTooHigh(holdout) });
  else if (typeof alloc.floor === 'number' && arms * alloc.floor + holdout > 100 + 1e-9)
    problems.push({ path: at('allocation', 'floor'), message: m.floorsTooHigh(arms, alloc.floor, holdout) });
  if (typeof alloc.reweight_every === 'string' && parseDuration(alloc.reweight_every) === undefined)
    problems.push({
      path: at('allocation', 'reweight_every'),
      message: m.expected(DURATION_FORMAT, show(alloc.reweight_every, at('allocation', 'reweight_every'))),
    });
  if (typeof alloc.sticky_ttl === 'string' && parseDuration(alloc.sticky_ttl) === undefined)
    problems.push({
      path: at('allocation', 'sticky_ttl'),
      message: m.expected(DURATION_FORMAT, show(alloc.sticky_ttl, at('allocation', 'sticky_ttl'))),
    });
  else if (alloc.sticky_ttl !== undefined && alloc.sticky !== 'redis')
    problems.push({ path: at('allocation', 'sticky_ttl'), message: m.stickyTtlNeedsRedis });
  else if (typeof alloc.sticky_ttl === 'string') {
    const ttl = parseDuration(alloc.sticky_ttl)!;
    if (ttl < MIN_STICKY_TTL_MS || ttl > MAX_STICKY_TTL_MS)
      problems.push({
        path: at('allocation', 'sticky_ttl'),
        message: m.stickyTtlOutOfRange(show(alloc.sticky_ttl, at('allocation', 'sticky_ttl')), ttl < MIN_STICKY_TTL_MS),
      });
  }
  if (alloc.sticky === 'redis' && !(isRecord(raw.fleet) && typeof raw.fleet.redis === 'string'))
    problems.push({ path: at('allocation', 'sticky'), message: m.stickyNeedsFleet });
}

/** batch_size and batch_bytes above what the platform's batch API takes, with the platform's limit named. */
function platformLimitProblems(analytics: Record<string, unknown>): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const platform of ['segment', 'amplitude', 'mixpanel'] as const) {
    const options = analytics[platform];
    if (!isRecord(options)) continue;
    const toBatch =
      platform === 'amplitude' &&
      typeof options.server_url === 'string' &&
      /\/batch\/?$/.test(URL.canParse(options.server_url) ? new URL(options.server_url).pathname : '');
    const limits = PLATFORM_LIMITS[toBatch ? 'amplitudeBatch' : platform];
    const over = (key: string, max: number) => {
      const value = options[key];
      if (typeof value === 'number' && value > max)
        problems.push({ path: ['analytics', platform, key], message: m.platformLimit(key, max, value, limits.doc) });
    };
    over('batch_size', limits.maxEvents);
    over('batch_bytes', limits.maxBytes);
  }
  return problems;
}
