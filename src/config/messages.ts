/**
 * Every sentence the config layer says, in one catalogue, so wording stays consistent
 * and tests can match it.
 */
export const configMessages = {
  unknownKey: (key: string, suggestion: string | undefined, allowed: readonly string[]) =>
    `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''}` +
    (allowed.length ? ` (allowed here: ${allowed.join(', ')})` : ''),
  secretLiteral: 'a token must come from the environment: write it as "${ENV_NAME}", not the token itself',
  platformTwice: (platform: string) => `${platform} is listed twice; list each platform once`,
  unleashNeedsUrl:
    'unleash needs url (the Unleash API, e.g. https://unleash.example.com/api), or offline: true with a bootstrap file',
  unleashOfflineNeedsBootstrap: 'offline: true serves the bootstrap file only; name one in bootstrap:',
  unleashControlNeedsUrl:
    'the control plane needs url (the Unleash API its Admin API is under, e.g. https://unleash.example.com/api) when feature_flags.unleash.url is not set',
  missing: (expected: string) => `missing; expected ${expected}`,
  expected: (expected: string, found: string) => `expected ${expected}, found ${found}`,
  weightsSum: (total: number, sum: number) =>
    `variant weights must add up to exactly ${total} (they are percentages), found ${formatNumber(sum)}`,
  tooFewVariants: (n: number) => `an experiment needs at least 2 variants, found ${n}`,
  /**
   * This, duplicateFlag and memoryDefaultVariant take values as shown (quote.ts): quoted, or
   * a placeholder for a value from the environment.
   */
  controlMissing: (control: string, variants: readonly string[]) =>
    `control ${control} is not one of the variants (${variants.join(', ')}); name a variant in "control:"`,
  adaptiveNeedsMetric:
    'adaptive allocation needs primary_metric: the tracked event whose rate (or value) the bandit maximises',
  floorsTooHigh: (arms: number, floor: number, holdout: number) =>
    `floors cannot add up: ${arms} arms x floor ${formatNumber(floor)}% + holdout ${formatNumber(holdout)}% = ${formatNumber(arms * floor + holdout)}%, more than 100%`,
  holdoutTooHigh: (holdout: number) =>
    `a holdout of ${formatNumber(holdout)}% leaves no traffic for the bandit to allocate; use a value below 100`,
  stickyTtlNeedsRedis:
    'sticky_ttl is how long the Redis hash of sticky: redis lives after its last use; with sticky: memory or none nothing expires: remove it or set sticky: redis',
  stickyTtlOutOfRange: (found: string, short: boolean) =>
    short
      ? `sticky_ttl ${found} is under an hour: the hash would expire between two visits of a returning unit, which would then get a new arm; use 1h to 3650d (default 90d)`
      : `sticky_ttl ${found} is over ten years, past what Redis takes as an expiry; use 1h to 3650d (default 90d)`,
  stickyNeedsFleet: 'sticky: redis needs fleet.redis (the Redis the instances share); or use sticky: memory',
  weightMissing: 'missing; expected a number (fixed and gradual allocation need a weight per variant)',
  gradualNeeds: (field: 'start' | 'schedule') =>
    field === 'start'
      ? 'gradual allocation needs allocation.start, the ISO date-time the first step begins (e.g. 2026-12-01T09:00:00Z)'
      : 'gradual allocation needs allocation.schedule, a list of { percent, dwell } steps',
  onlyForMode: (field: string, mode: string) =>
    `"${field}" is only used by ${mode} allocation; remove it or set mode: ${mode}`,
  scheduleDecreasing: (previous: number, current: number) =>
    `schedule percentages may not go down: a step of ${formatNumber(current)}% follows ${formatNumber(previous)}% (ramp down by editing earlier steps or pausing)`,
  dwellRequired: 'every step but the last needs a dwell (how long it lasts before the next step), e.g. dwell: 1d',
  duplicateFlag: (flag: string, other: string) =>
    `flag ${flag} is already used by experiment ${other}; one experiment per flag`,
  guardrailNoLimit: 'a guardrail needs at least one limit: max, min, max_relative_increase or max_relative_decrease',
  memoryDefaultVariant: (variant: string, variants: readonly string[]) =>
    `defaultVariant ${variant} is not one of the variants (${variants.join(', ')})`,
  fromEnvironment: (written: string) => `the value of ${written} (from the environment, not shown)`,
  reservedName: (name: string, kind: string) =>
    `"${name}" is reserved (JavaScript objects use the name), so it cannot name ${kind}; choose another name`,
  envMissing: (name: string) => `environment variable ${name} is not set (referenced as \${${name}})`,
  monitoringForm: 'expected a map (real_time_metrics: true) or a list of one-key maps (- real_time_metrics: true)',
  fleetRedisUrl:
    'expected a Redis URL such as redis://127.0.0.1:6379 (redis:// or rediss://, optionally user:password@ and /db); put a password in the environment: "${REDIS_URL}"',
  yamlSyntax: (message: string) => `YAML syntax error: ${message}`,
  tooDeep: (max: number) =>
    `lists and maps nest more than ${max} levels deep here; a switchyard config needs far fewer`,
  tooManyAliases:
    'too many aliases: each *name copies what its &name holds, and these would copy it past what yaml allows (an alias bomb); write the values out',
  nestedInItself: 'this is inside itself (an alias inside the node it names), so it would nest without end',
  emptyOnReload: 'the file is empty (nothing but whitespace, comments or null): the last good config stays in force',
  reloadUnreadable: (file: string, reason: string) =>
    `cannot read config file ${file} (${reason}); the last good config stays in force`,
  secondDocument: 'a second YAML document starts here (after ---); the config is one document',
  openfeatureBuiltin: (module: string) =>
    `${module} is a module built into Node.js, not an OpenFeature provider; name the npm package (or the path of the file) that exports the provider`,
  notAMapping: 'the config must be a YAML mapping of keys such as experiment_config, feature_flags, experiments',
  reshuffle: (experiment: string, why: string) =>
    `change rejected: it would reshuffle units of running experiment "${experiment}" (${why}); set allow_reshuffle: true on the experiment to allow it`,
  platformNeedsOptions: (platform: string) => {
    const key = platform === 'segment' ? 'write_key' : platform === 'amplitude' ? 'api_key' : 'token';
    return `analytics_platforms names ${platform}, which needs analytics.${platform}.${key} (from the environment, e.g. "\${${platform.toUpperCase()}_${key.toUpperCase()}}")`;
  },
  platformLimit: (key: string, max: number, found: number, doc: string) =>
    `${key} may be at most ${max.toLocaleString('en')} (${doc}), found ${found}`,
  splitReservedControl:
    'Split reserves the treatment name "control" for "the SDK could not evaluate", so a Split flag cannot serve it; name the control variant differently (e.g. off) and set control: to it',
} as const;

export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1e9) / 1e9);
}
