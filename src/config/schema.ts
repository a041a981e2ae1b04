/**
 * The shape of switchyard.yaml as a zod schema. Only structure and ranges live here;
 * rules that relate fields (weights sum to 100, control names a variant, schedules
 * never go down) live in `semantic.ts`, so that every problem is reported in one pass.
 * `schema/switchyard.schema.json` is generated from this file (`npm run schema`).
 */
import { z } from 'zod';

export const PROVIDERS = ['memory', 'launchdarkly', 'split', 'optimizely', 'unleash', 'openfeature'] as const;
export const PLATFORMS = ['jsonl', 'segment', 'amplitude', 'mixpanel'] as const;
export const METHODS = ['frequentist', 'bayesian'] as const;
export const MODES = ['fixed', 'gradual', 'adaptive', 'provider'] as const;
export const STICKY_STORES = ['memory', 'redis', 'none'] as const;
export const ADAPTIVE_METRIC_KINDS = ['conversion', 'continuous'] as const;
/** The allocation keys only adaptive mode reads. */
export const ADAPTIVE_KEYS = [
  'reweight_every',
  'min_sample',
  'floor',
  'holdout',
  'max_step',
  'draws',
  'seed',
  'metric_kind',
  'sticky',
  'sticky_capacity',
  'sticky_ttl',
] as const;
export const MONITORING_KEYS = ['real_time_metrics', 'anomaly_detection', 'automatic_rollback'] as const;

/** The total that variant weights must add up to: weights are percentages. */
export const WEIGHT_TOTAL = 100;

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, {
  message: 'a name that starts with a letter or _ and has only letters, digits, _ . -',
});
const percent = z.number().min(0).max(100);
const duration = z.string().describe('a duration such as 1d, 12h, 30m');
const json: z.ZodType<unknown> = z.unknown();

const experimentConfig = z.strictObject({
  min_sample_size: z.number().int().positive().optional(),
  confidence_level: z.number().gt(0).lt(1).optional(),
  runtime_days: z.number().positive().optional(),
  traffic_allocation: z.enum(MODES).optional(),
});

const monitoringMap = z.strictObject({
  real_time_metrics: z.boolean().optional(),
  anomaly_detection: z.boolean().optional(),
  automatic_rollback: z.boolean().optional(),
  /** How often guardrails are checked (default 10s). */
  check_interval: duration.optional(),
  /** What a sample-ratio mismatch does (default warn). */
  srm_action: z.enum(['hold', 'rollback', 'warn']).optional(),
  /** The SRM check's always-valid p-value threshold (default 0.001). */
  srm_threshold: z.number().gt(0).lt(1).optional(),
  /** What an anomaly does (default warn: an event only). */
  anomaly_action: z.enum(['warn', 'pause', 'rollback']).optional(),
  /** What a guardrail breach does while a gradual ramp is still ramping (default rollback with automatic_rollback, else pause). */
  ramp_breach_action: z.enum(['pause', 'rollback']).optional(),
});

const memoryFlag = z.strictObject({
  variants: z.record(z.string(), json),
  defaultVariant: z.string(),
  disabled: z.boolean().optional(),
});

const secret = z.string().min(1).describe('a secret: write it as "${ENV_NAME}" so it comes from the environment');

/** Base URLs of the vendors' management APIs may be overridden (a proxy, a test receiver). */
const controlBase = { base_url: z.url().optional() };

const launchdarklyControl = z.strictObject({
  /** An API access token with writer rights, from the environment. */
  token: secret,
  project_key: z.string().min(1),
  environment_key: z.string().min(1),
  ...controlBase,
});

const splitControl = z.strictObject({
  /** An Admin API key, from the environment. */
  token: secret,
  workspace_id: z.string().min(1),
  environment_id: z.string().min(1),
  on_treatment: z.string().min(1).optional(),
  off_treatment: z.string().min(1).optional(),
  ...controlBase,
});

const optimizelyControl = z.strictObject({
  /** A personal access token, from the environment. */
  token: secret,
  project_id: z.union([z.string().min(1), z.number().int().positive()]),
  environment_key: z.string().min(1),
  rule_key: z.string().min(1).optional(),
  ...controlBase,
});

const unleashControl = z.strictObject({
  /** An admin API token or personal access token, from the environment. */
  token: secret,
  project: z.string().min(1).optional(),
  environment: z.string().min(1).optional(),
  /** The Admin API's base (default: feature_flags.unleash.url). */
  url: z.url().optional(),
});

const launchdarkly = z.strictObject({
  sdk_key: secret.optional(),
  base_uri: z.url().optional(),
  stream_uri: z.url().optional(),
  events_uri: z.url().optional(),
  /** Streaming (default) or polling. */
  stream: z.boolean().optional(),
  send_events: z.boolean().optional(),
  /** Serve flags from these LaunchDarkly flag files instead of the network (FileData). */
  file_paths: z.array(z.string().min(1)).min(1).optional(),
  /** The context kind when the evaluation context names none (default user). */
  context_kind: z.string().min(1).optional(),
  /** The REST API, so the kill switch and `ramp --vendor` change the flag at LaunchDarkly. */
  control_plane: launchdarklyControl.optional(),
});

const optimizely = z.strictObject({
  sdk_key: secret.optional(),
  /** A datafile on disk: a static project configuration. */
  datafile: z.string().min(1).optional(),
  /** Where to poll the datafile, %s standing for the SDK key (default Optimizely's CDN). */
  url_template: z.string().min(1).optional(),
  update_interval_ms: z.number().int().min(100).optional(),
  datafile_access_token: secret.optional(),
  /** The variable that holds a flag's typed value (default value). */
  value_variable: z.string().min(1).optional(),
  control_plane: optimizelyControl.optional(),
});

const split = z.strictObject({
  sdk_key: secret,
  urls: z
    .strictObject({
      sdk: z.url().optional(),
      events: z.url().optional(),
      auth: z.url().optional(),
      telemetry: z.url().optional(),
    })
    .optional(),
  streaming: z.boolean().optional(),
  features_refresh_rate_s: z.number().positive().optional(),
  segments_refresh_rate_s: z.number().positive().optional(),
  traffic_type: z.string().min(1).optional(),
  control_plane: splitControl.optional(),
});

const unleash = z.strictObject({
  /** The Unleash API URL, e.g. https://unleash.example.com/api (not needed offline). */
  url: z.url().optional(),
  app_name: z.string().min(1).optional(),
  instance_id: z.string().min(1).optional(),
  /** A client (backend) token, from the environment. */
  client_token: secret.optional(),
  environment: z.string().min(1).optional(),
  refresh_interval_ms: z.number().int().min(100).max(3_600_000).optional(),
  /** A file in the client API's format ({ features, segments? }) served until the first fetch. */
  bootstrap: z.string().min(1).optional(),
  /** Serve the bootstrap file only, without a server. */
  offline: z.boolean().optional(),
  /** Send usage metrics to Unleash (default true). */
  metrics: z.boolean().optional(),
  control_plane: unleashControl.optional(),
});

const openfeature = z.strictObject({
  /** The npm package (or path) that exports the OpenFeature provider. */
  module: z.string().min(1),
  /** The export to use: a provider class (constructed with options) or instance (default: default). */
  export: z.string().min(1).optional(),
  options: json.optional(),
});

const featureFlags = z.strictObject({
  provider: z.enum(PROVIDERS),
  /** Evaluations that take longer get the control and SY_PROVIDER_TIMEOUT. */
  evaluation_timeout_ms: z.number().int().positive().max(60_000).optional(),
  /** How long createSwitchyard waits for the provider to become ready. */
  init_timeout_ms: z.number().int().positive().max(600_000).optional(),
  memory: z.strictObject({ flags: z.record(z.string(), memoryFlag).optional() }).optional(),
  launchdarkly: launchdarkly.optional(),
  split: split.optional(),
  optimizely: optimizely.optional(),
  unleash: unleash.optional(),
  openfeature: openfeature.optional(),
});

const variant = z.strictObject({
  /** Required by fixed and gradual; adaptive: the burn-in split (equal when left out). */
  weight: z.number().min(0).max(WEIGHT_TOTAL).optional(),
  payload: json.optional(),
  description: z.string().optional(),
});

const step = z.strictObject({ percent, dwell: duration.optional() });

const allocation = z.strictObject({
  mode: z.enum(MODES).optional(),
  /** fixed: share of units in the experiment (the rest get control, not exposed). */
  percent: percent.optional(),
  start: z.iso.datetime({ offset: true }).optional(),
  schedule: z.array(step).min(1).optional(),
  salt: z.string().min(1).optional(),
  // adaptive (Thompson sampling) only; semantic.ts checks they are not set for other modes.
  /** How often the arms are re-weighted, e.g. 1h. */
  reweight_every: duration.optional(),
  /** Burn-in: equal (or configured) weights until every arm has this many units. */
  min_sample: z.number().int().positive().optional(),
  /** Minimum percent of traffic per arm. */
  floor: percent.optional(),
  /** Percent of traffic that always goes to the control, whatever the weights. */
  holdout: percent.optional(),
  /** Most percentage points a weight may move in one re-weighting. */
  max_step: z.number().gt(0).max(100).optional(),
  /** Posterior draws per re-weighting (Monte Carlo error of a weight about 0.5 / sqrt(draws)). */
  draws: z.number().int().min(100).max(1_000_000).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** conversion: beta-binomial on units that tracked the metric; continuous: normal on its values. */
  metric_kind: z.enum(ADAPTIVE_METRIC_KINDS).optional(),
  /** Where a unit's variant is kept so it survives re-weighting. */
  sticky: z.enum(STICKY_STORES).optional(),
  /** Units the in-memory sticky table (or the Redis store's local cache) holds. */
  sticky_capacity: z.number().int().min(1000).max(100_000_000).optional(),
  /** sticky: redis only: how long the experiment's Redis hash lives after its last use (e.g. 90d). */
  sticky_ttl: duration.optional(),
});

const guardrail = z.strictObject({
  metric: z.string().min(1),
  max: z.number().optional(),
  min: z.number().optional(),
  max_relative_increase: z.number().positive().optional(),
  max_relative_decrease: z.number().positive().optional(),
  min_sample: z.number().int().positive().optional(),
});

const experiment = z.strictObject({
  flag: z.string().min(1).optional(),
  control: identifier.optional(),
  variants: z.record(identifier, variant),
  allocation: allocation.optional(),
  primary_metric: z.string().min(1).optional(),
  secondary_metrics: z.array(z.string().min(1)).optional(),
  guardrails: z.array(guardrail).optional(),
  hypothesis: z.string().optional(),
  owner: z.string().optional(),
  description: z.string().optional(),
  allow_reshuffle: z.boolean().optional(),
  min_sample_size: z.number().int().positive().optional(),
  confidence_level: z.number().gt(0).lt(1).optional(),
  runtime_days: z.number().positive().optional(),
  /** Ordered events of the experiment's funnel, for the analysis's friction points. */
  funnel: z.array(z.string().min(1)).min(2).optional(),
  /** The smallest relative effect of the primary metric worth detecting (power, plan); default analysis.mde. */
  mde: z.number().gt(0).lt(10).optional(),
});

const decisionRule = z.strictObject({
  /** Days of data before any ship / don't ship decision (default 7: a full weekly cycle). */
  min_runtime_days: z.number().min(0).optional(),
  /** Ship only once min_sample_size units per arm are in (default true). */
  require_min_sample: z.boolean().optional(),
  /** Statistic of the primary metric the decision reads (default conversion). */
  primary_statistic: z.enum(['conversion', 'mean_value', 'events_per_unit']).optional(),
  /** A guardrail is breached only when the treatment is significantly worse too (default true). */
  guardrail_requires_significance: z.boolean().optional(),
});

const analysis = z.strictObject({
  /** Multiple-testing correction across metrics, segments and funnel steps (default holm). */
  corrections: z.enum(['none', 'bonferroni', 'holm', 'bh', 'by']).optional(),
  /** Events count for a unit from its first exposure until this long after it (default 14d). */
  attribution_window: duration.optional(),
  /** Exposure attributes the analysis may segment by (default: exposures.attributes). */
  segments: z.array(z.string().min(1)).optional(),
  /** Units with more attributed events per day than this are reported as bot-like (default 500). */
  bot_max_events_per_day: z.number().positive().optional(),
  /** SRM p-value threshold (default 0.001). */
  srm_threshold: z.number().gt(0).lt(1).optional(),
  /** Default relative MDE for power and plans (default 0.05). */
  mde: z.number().gt(0).lt(10).optional(),
  /** Target power (default 0.8). */
  power: z.number().gt(0).lt(1).optional(),
  decision: decisionRule.optional(),
});

const exposures = z.strictObject({
  /** Log exposures and events at all (default true). */
  enabled: z.boolean().optional(),
  /** Where the journal lives (default .switchyard/events); processes sharing it each journal in a slot of their own. */
  dir: z.string().min(1).optional(),
  batch_size: z.number().int().min(1).max(100_000).optional(),
  flush_interval_ms: z.number().int().min(10).max(600_000).optional(),
  queue_capacity: z.number().int().min(100).max(10_000_000).optional(),
  close_timeout_ms: z.number().int().min(0).max(600_000).optional(),
  /** How long a sink's send may take before it counts as failed and is retried (default 60000). */
  send_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
  dedupe: z
    .strictObject({ capacity: z.number().int().min(1).max(100_000_000).optional(), window: duration.optional() })
    .optional(),
  /** HMAC-SHA256 key for unit ids in events (from the environment: "${SY_UNIT_HASH_KEY}"). */
  hash_units_key: z.string().min(8).optional(),
  /** Context attributes copied into exposures; nothing else from the context is logged. */
  attributes: z.array(z.string().min(1)).optional(),
  service: z.string().min(1).optional(),
  instance: z.string().min(1).optional(),
});

/**
 * What each analytics platform's batch API takes in one request, as its docs say (the
 * sources are quoted in src/exposure/sinks/<platform>.ts): events, uncompressed bytes, and
 * bytes of one event. Segment documents no count, only 500 KB; 2,500 is more than its
 * smallest events fill. Amplitude's Batch Event Upload API (a server_url ending in /batch)
 * takes 20 MB instead of HTTP V2's 1 MB. The sinks split requests to these limits, and
 * `batch_size`/`batch_bytes` may only lower them.
 */
export const PLATFORM_LIMITS = {
  segment: { maxEvents: 2500, maxBytes: 500_000, maxEventBytes: 32_000, doc: 'Segment takes at most 500 KB a request' },
  amplitude: {
    maxEvents: 2000,
    maxBytes: 1_000_000,
    maxEventBytes: 1_000_000,
    doc: "Amplitude's HTTP V2 API takes at most 2,000 events and 1 MB a request",
  },
  amplitudeBatch: {
    maxEvents: 2000,
    maxBytes: 20_000_000,
    maxEventBytes: 1_000_000,
    doc: "Amplitude's Batch Event Upload API takes at most 2,000 events and 20 MB a request",
  },
  mixpanel: {
    maxEvents: 2000,
    maxBytes: 2_000_000,
    maxEventBytes: 1_000_000,
    doc: "Mixpanel's /import takes at most 2,000 events and 2 MB a request",
  },
} as const;

/** Sends in flight at most to an analytics platform (default 4); acknowledged in journal order all the same. */
const sendConcurrency = z.number().int().min(1).max(64).optional();

/**
 * How an analytics sink sends: sends in flight, gzip (true: level 1; a number: that
 * level, 1-9; false: none), events and uncompressed bytes at most a request, up to the
 * platform's limits (semantic.ts names the limit in its message; Amplitude's depends on
 * its server_url).
 */
function sendTuning(limits: { maxEvents: number; maxBytes: number }) {
  return {
    concurrency: sendConcurrency,
    compress: z.union([z.boolean(), z.number().int().min(1).max(9)]).optional(),
    batch_size: z.number().int().min(1).max(limits.maxEvents).optional(),
    batch_bytes: z.number().int().min(1024).max(limits.maxBytes).optional(),
  };
}

const analytics = z.strictObject({
  jsonl: z
    .strictObject({ dir: z.string().min(1).optional(), max_file_bytes: z.number().int().min(1024).optional() })
    .optional(),
  segment: z
    .strictObject({
      write_key: z.string().min(1),
      host: z.url().optional(),
      path: z.string().optional(),
      ...sendTuning(PLATFORM_LIMITS.segment),
    })
    .optional(),
  amplitude: z
    .strictObject({
      api_key: z.string().min(1),
      server_url: z.url().optional(),
      ...sendTuning(PLATFORM_LIMITS.amplitudeBatch),
    })
    .optional(),
  mixpanel: z
    .strictObject({
      token: z.string().min(1),
      host: z.string().optional(),
      protocol: z.enum(['http', 'https']).optional(),
      ...sendTuning(PLATFORM_LIMITS.mixpanel),
    })
    .optional(),
});

const fleet = z.strictObject({
  /** redis://[user:password@]host:port[/db] (or rediss://); a password belongs in "${REDIS_URL}". */
  redis: z.string().min(1),
  /** Namespace of every key and channel switchyard uses (default switchyard). */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, { message: 'letters, digits and _ . : - only' })
    .optional(),
  /** How often metric deltas are pushed and the shared state re-read (default 2s). */
  push_interval: duration.optional(),
});

export const configSchema = z.strictObject({
  experiment_config: experimentConfig.optional(),
  analytics_platforms: z.array(z.enum(PLATFORMS)).optional(),
  feature_flags: featureFlags.optional(),
  statistical_methods: z.array(z.enum(METHODS)).optional(),
  monitoring: monitoringMap.optional(),
  exposures: exposures.optional(),
  analytics: analytics.optional(),
  experiments: z.record(identifier, experiment).optional(),
  analysis: analysis.optional(),
  fleet: fleet.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawExperiment = z.infer<typeof experiment>;
export type ProviderName = (typeof PROVIDERS)[number];
export type PlatformName = (typeof PLATFORMS)[number];
export type StatisticalMethod = (typeof METHODS)[number];
export type Guardrail = z.infer<typeof guardrail>;
export type RawAnalysis = z.infer<typeof analysis>;
export type MemoryFlagConfig = z.infer<typeof memoryFlag>;
