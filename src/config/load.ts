/**
 * Reads switchyard.yaml once, at the boundary: YAML parse with source positions, `${NAME}`
 * interpolation from the environment, the zod schema and the semantic rules, all problems
 * located (file:line:col and path) and reported together. Downstream code only ever sees
 * a `ValidatedConfig`.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import {
  Composer,
  LineCounter,
  Parser,
  isMap,
  isSeq,
  isScalar,
  visit,
  type CST,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import { parseDuration } from './duration.js';
import { configMessages as m } from './messages.js';
import { configSchema, WEIGHT_TOTAL, type RawConfig, type RawExperiment } from './schema.js';
import { describeValue, escapeControls, quote, scrubSecrets } from './quote.js';
import { semanticProblems, type Path, type RawProblem, type ShowValue } from './semantic.js';
import type {
  AllocationMode,
  ConfigProblem,
  RampStep,
  SendTuning,
  ValidatedAdaptive,
  ValidatedConfig,
  ValidatedExperiment,
} from './types.js';
import { closestName } from './suggest.js';

export class ConfigError extends SwitchyardError {
  readonly problems: readonly ConfigProblem[];
  constructor(file: string, problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const lines = problems.map(formatProblem);
    super(
      'SY_CONFIG_INVALID',
      'config',
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file}; the config was not applied:\n  ${lines.join('\n  ')}`,
      options,
    );
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return `${where} ${p.path || '(top level)'}: ${p.message}`;
}

export interface LoadOptions {
  /** Environment for `${NAME}` interpolation; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The largest config file read: a config is a few KB; anything near this is not one. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The text of a config file, read only when it is a regular file of at most
 * MAX_CONFIG_BYTES. Opened without blocking and checked on the open descriptor, so a FIFO
 * put in its place (whose read waits for a writer: `validate` hung, and a running
 * service's hot reload would have blocked its event loop for good), a device or a huge
 * file is refused, even one swapped in between a check and the read. Throws an Error
 * saying why; callers wrap it with the file's name.
 */
export function readConfigText(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const s = fstatSync(fd);
    if (s.isDirectory()) throw new Error('it is a directory, not a file');
    if (!s.isFile()) throw new Error('it is not a regular file (a pipe, socket or device)');
    if (s.size > MAX_CONFIG_BYTES)
      throw new Error(`it has ${s.size} bytes, over the ${MAX_CONFIG_BYTES} a config file may have`);
    return utf8Text(readFileSync(fd));
  } finally {
    closeSync(fd);
  }
}

/** Strict: a byte that is not UTF-8 is an error, not a U+FFFD in a salt or a payload. The BOM stays, as yaml reads it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text; throws an Error naming the first byte that is not UTF-8 and where it is. */
function utf8Text(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    // The lenient decoding, encoded again, differs from the bytes first at the first bad byte.
    const again = Buffer.from(bytes.toString('utf8'), 'utf8');
    let i = 0;
    while (i < bytes.length && bytes[i] === again[i]) i++;
    const lineStart = bytes.lastIndexOf(0x0a, i - 1) + 1;
    let line = 1;
    for (let j = 0; j < lineStart; j++) if (bytes[j] === 0x0a) line++;
    const byte = `0x${bytes[i]!.toString(16).padStart(2, '0')}`;
    throw new Error(
      `it is not UTF-8 text (byte ${byte} at line ${line}, column ${i - lineStart + 1}); save it as UTF-8`,
    );
  }
}

/** Reads and validates a config file. Throws ConfigError (SY_CONFIG_INVALID) or SY_CONFIG_READ. */
export function loadConfigFile(file: string, options: LoadOptions = {}): ValidatedConfig {
  return parseConfig(readConfigFile(file), file, options);
}

/** readConfigText, its failure thrown as SY_CONFIG_READ naming the file. */
export function readConfigFile(file: string): string {
  try {
    return readConfigText(file);
  } catch (cause) {
    throw new SwitchyardError(
      'SY_CONFIG_READ',
      'config',
      `cannot read config file ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Validates YAML text. `file` is only used in messages. */
export function parseConfig(text: string, file = '<text>', options: LoadOptions = {}): ValidatedConfig {
  return parse(text, file, options, 'defaults');
}

/**
 * As parseConfig, for a hot reload of a config in force: an empty document (nothing but
 * whitespace and comments, or null) is refused. At start it means every default; on a
 * reload it is far more often an editor's truncating write caught half way, and applying
 * it would remove every experiment at once.
 */
export function parseReloadedConfig(text: string, file: string, options: LoadOptions = {}): ValidatedConfig {
  return parse(text, file, options, 'refused');
}

function parse(text: string, file: string, options: LoadOptions, empty: 'defaults' | 'refused'): ValidatedConfig {
  // parseDocument's steps, taken one by one so that the depth check sees the CST before the
  // composer does, without parsing twice.
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = tooDeepAt(tokens);
  if (deep !== undefined)
    throw new ConfigError(file, [{ file, ...lineCounter.linePos(deep), path: '', message: m.tooDeep(MAX_DEPTH) }]);
  // forceDoc: there is always a first document, if only an empty one.
  // merge: `<<: *anchor` merge keys, as YAML 1.1 and most tools read them (a key written beside one wins).
  const [doc, second] = Array.from(
    new Composer({ uniqueKeys: false, merge: true }).compose(tokens, true, text.length),
  ) as [Document.Parsed, Document.Parsed | undefined];
  const errors = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] ?? e.message })),
    ...duplicateKeys(doc).map((offset) => ({ offset, message: 'Map keys must be unique' })),
    ...(second ? [{ offset: second.range[0], message: m.secondDocument }] : []),
  ];
  if (errors.length > 0) {
    throw new ConfigError(
      file,
      errors
        .sort((a, b) => a.offset - b.offset)
        .map((e) => ({
          file,
          ...lineCounter.linePos(e.offset),
          path: '',
          message: escapeControls(m.yamlSyntax(e.message)),
        })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // yaml stops an alias bomb ("billion laughs") while expanding it, with a bare ReferenceError.
    if (!(error instanceof ReferenceError && /alias count/i.test(error.message))) throw error;
    throw new ConfigError(file, [{ file, line: 0, col: 0, path: '', message: m.tooManyAliases }], { cause: error });
  }
  if (value === null || value === undefined) {
    if (empty === 'refused')
      throw new ConfigError(file, [{ file, line: 0, col: 0, path: '', message: m.emptyOnReload }]);
    value = {};
  }
  const position = (path: Path, atKey?: boolean) => locate(doc, lineCounter, path, atKey);
  const nesting = nestingProblem(value);
  if (nesting)
    throw new ConfigError(file, [
      { file, ...position(nesting.path), path: formatPath(nesting.path), message: nesting.message },
    ]);
  return validate(value, file, options, position);
}

/**
 * Offsets of the keys written twice in a map, in the words yaml uses for them. yaml's own
 * check (uniqueKeys) compares each key with every earlier one of its map, so 20,000
 * variants took 2 s; a set per map makes it linear. Equal as yaml's check has it: scalar
 * keys of the same value (1 and "1" differ); a map or list as a key is never equal.
 */
function duplicateKeys(doc: Document): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key) || key.value === '<<') continue; // merge keys may repeat
        if (seen.has(key.value)) offsets.push(key.range?.[0] ?? 0);
        else seen.add(key.value);
      }
    },
  });
  return offsets;
}

/**
 * How deep lists and maps may nest. A config nests a handful of levels, a payload a few
 * more; much deeper input is refused before recursive code sees it: yaml's composer and
 * toJS, structuredClone, interpolation and zod all recurse once per level. Tens of
 * thousands of levels overflow the stack, and after an earlier parse in the process V8
 * dies compiling one of yaml's regular expressions there ("RegExpCompiler Allocation
 * failed", a fatal out-of-memory that no catch sees).
 */
const MAX_DEPTH = 64;

/**
 * Offset of the first list or map nested deeper than MAX_DEPTH, if any. yaml's
 * CST parser keeps its own stack rather than recursing, and so does this walk of its
 * tokens.
 */
function tooDeepAt(tokens: readonly CST.Token[]): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = [];
  for (const token of tokens)
    if (token.type === 'document' && token.value) stack.push({ token: token.value, depth: 1 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth > MAX_DEPTH) return token.offset;
    for (const item of token.items) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * The first list or map of a value nested deeper than MAX_DEPTH, or inside itself (an
 * object cycle, or a YAML alias inside the node it names), if any. Iterative, for the
 * reason MAX_DEPTH gives; a list or map reached twice (an alias) is walked once.
 */
function nestingProblem(value: unknown): RawProblem | undefined {
  const seen = new Set<object>();
  const stack: { node: unknown; path: (string | number)[]; inside: object[] }[] = [
    { node: value, path: [], inside: [] },
  ];
  while (stack.length > 0) {
    const { node, path, inside } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (inside.includes(node)) return { path, message: m.nestedInItself };
    if (path.length >= MAX_DEPTH) return { path, message: m.tooDeep(MAX_DEPTH) };
    if (seen.has(node)) continue;
    seen.add(node);
    for (const key of Object.keys(node)) {
      const segment = Array.isArray(node) ? Number(key) : key;
      stack.push({ node: (node as Record<string, unknown>)[key], path: [...path, segment], inside: [...inside, node] });
    }
  }
  return undefined;
}

/** Validates a config given as a plain object (no positions in messages). */
export function validateConfigObject(value: unknown, options: LoadOptions = {}): ValidatedConfig {
  const nesting = nestingProblem(value);
  if (nesting)
    throw new ConfigError('<object>', [
      { file: '<object>', line: 0, col: 0, path: formatPath(nesting.path), message: nesting.message },
    ]);
  return validate(structuredClone(value), '<object>', options, () => ({ line: 0, col: 0 }));
}

function validate(
  value: unknown,
  file: string,
  options: LoadOptions,
  position: (path: Path, atKey?: boolean) => { line: number; col: number },
): ValidatedConfig {
  const env = options.env ?? process.env;
  const problems: RawProblem[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(file, [{ file, ...position([]), path: '', message: m.notAMapping }]);
  }
  problems.push(...literalSecrets(value));
  const { secrets, written } = interpolateEnv(value, [], env, problems);
  // A value that came from the environment is never shown, not even scrubbed: the text as
  // written in the file stands for it.
  const show: ShowValue = (found, path) => {
    const text = written.get(formatPath(path));
    return text === undefined ? describeValue(found, secrets) : m.fromEnvironment(describeValue(text, secrets));
  };
  normaliseMonitoring(value as Record<string, unknown>, problems, show);
  const parsed = configSchema.safeParse(value, { reportInput: true });
  const semantic = semanticProblems(value, show);
  if (!parsed.success) {
    // A missing variable is reported once, as such, not again as the empty value it left;
    // a platform's limit, once, by the semantic rule that names it.
    const unset = new Set(problems.map((p) => formatPath(p.path)));
    const explained = new Set(semantic.map((p) => formatPath(p.path)));
    problems.push(
      ...parsed.error.issues
        .filter(
          (issue) =>
            !(
              issue.code === 'too_big' &&
              issue.path[0] === 'analytics' &&
              explained.has(formatPath(issue.path as Path))
            ),
        )
        .flatMap((issue) => fromZodIssue(issue, show))
        .filter((p) => !unset.has(formatPath(p.path))),
    );
  }
  problems.push(...semantic);
  if (problems.length > 0 || !parsed.success) {
    const located = problems.map((p) => ({
      file,
      ...position(p.path, p.atKey),
      path: formatPath(p.path),
      // Names quoted in a message (a control, a variant) may hold control characters too.
      message: escapeControls(scrubSecrets(p.message, secrets)),
    }));
    located.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigError(file, located);
  }
  return toValidated(parsed.data, secrets);
}

/** Tokens that must come from the environment: a literal one would sit in a file on disk. */
const ENV_ONLY: ReadonlyArray<readonly string[]> = [
  ['feature_flags', 'unleash', 'client_token'],
  ...['unleash', 'launchdarkly', 'split', 'optimizely'].map((v) => ['feature_flags', v, 'control_plane', 'token']),
];

function literalSecrets(root: unknown): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const path of ENV_ONLY) {
    let node: unknown = root;
    for (const key of path)
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    if (typeof node === 'string' && !/\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(node))
      problems.push({ path: [...path], message: m.secretLiteral });
  }
  return problems;
}

/**
 * Replaces `${NAME}` in every string; `$${` escapes a literal `${`. Returns the secret
 * values, and the text as written of each string a variable went into, by formatted path.
 */
function interpolateEnv(
  node: unknown,
  path: (string | number)[],
  env: LoadOptions['env'] & object,
  problems: RawProblem[],
): { secrets: string[]; written: Map<string, string> } {
  const secrets: string[] = [];
  const written = new Map<string, string>();
  const visit = (parent: Record<string | number, unknown>, key: string | number, at: (string | number)[]) => {
    const v = parent[key];
    if (typeof v === 'string') {
      if (!v.includes('${')) return;
      parent[key] = v.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
        if (whole.startsWith('$$')) return whole.slice(1);
        const resolved = env[name];
        if (resolved === undefined) {
          problems.push({ path: at, message: m.envMissing(name) });
          return '';
        }
        if (resolved.length > 0) secrets.push(resolved);
        written.set(formatPath(at), v);
        return resolved;
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const k of Object.keys(v))
        visit(v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k, [
          ...at,
          Array.isArray(v) ? Number(k) : k,
        ]);
    }
  };
  const root = { root: node };
  visit(root, 'root', path);
  return { secrets, written };
}

/** `monitoring` may be a map or the seed's list of one-key maps; both become the map. */
function normaliseMonitoring(config: Record<string, unknown>, problems: RawProblem[], show: ShowValue): void {
  const mon = config.monitoring;
  if (!Array.isArray(mon)) {
    if (mon !== undefined && (typeof mon !== 'object' || mon === null)) {
      problems.push({ path: ['monitoring'], message: `${m.monitoringForm}; found ${show(mon, ['monitoring'])}` });
      delete config.monitoring;
    }
    return;
  }
  const merged: Record<string, unknown> = {};
  mon.forEach((item, i) => {
    if (typeof item === 'object' && item !== null && !Array.isArray(item) && Object.keys(item).length === 1) {
      Object.assign(merged, item);
    } else {
      problems.push({
        path: ['monitoring', i],
        message: `${m.monitoringForm}; found ${show(item, ['monitoring', i])}`,
      });
    }
  });
  config.monitoring = merged;
}

function fromZodIssue(issue: z.core.$ZodIssue, show: ShowValue): RawProblem[] {
  const path = issue.path as (string | number)[];
  const found = 'input' in issue ? show(issue.input, path) : 'nothing';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        atKey: true,
        message: m.unknownKey(key, closestName(key, allowed), allowed),
      }));
    }
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, message: m.missing(typeName(issue.expected)) }];
      return [{ path, message: m.expected(typeName(issue.expected), found) }];
    case 'invalid_value':
      return [{ path, message: m.expected(`one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`, found) }];
    case 'too_big':
      return [
        {
          path,
          message: m.expected(limitOf(issue.origin, 'at most', issue.inclusive ? '<=' : '<', issue.maximum), found),
        },
      ];
    case 'too_small':
      return [
        {
          path,
          message: m.expected(limitOf(issue.origin, 'at least', issue.inclusive ? '>=' : '>', issue.minimum), found),
        },
      ];
    case 'invalid_format':
      return [
        {
          path,
          message: m.expected(
            issue.format === 'datetime'
              ? 'an ISO-8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z'
              : issue.format === 'url'
                ? 'a URL, e.g. https://api2.amplitude.com/batch'
                : issue.message,
            found,
          ),
        },
      ];
    case 'invalid_key':
      return [
        {
          path,
          message: m.expected('a name that starts with a letter or _ and has only letters, digits, _ . -', found),
        },
      ];
    case 'invalid_union':
      return [{ path, message: m.expected('one of the accepted forms', found) }];
    default:
      return [{ path, message: `${issue.message}; found ${found}` }];
  }
}

/** A bound as a message says it: of a list's items, of a string's characters (not "a value >= 8" for text), or of a number. */
function limitOf(origin: string, words: string, comparison: string, limit: number | bigint): string {
  if (origin === 'array') return `${words} ${String(limit)} items`;
  if (origin === 'string') return `${words} ${String(limit)} character${Number(limit) === 1 ? '' : 's'}`;
  return `a value ${comparison} ${String(limit)}`;
}

function typeName(expected: string): string {
  return (
    (
      {
        number: 'a number',
        string: 'a string',
        boolean: 'true or false',
        object: 'a map',
        array: 'a list',
        record: 'a map',
      } as Record<string, string>
    )[expected] ?? expected
  );
}

/** The keys the schema allows at a path, for "did you mean" and the allowed list. */
function allowedKeysAt(path: readonly (string | number)[]): string[] {
  let schema: unknown = configSchema;
  const unwrap = (s: any): any => {
    while (
      s?.def &&
      (s.def.type === 'optional' || s.def.type === 'default' || s.def.type === 'nullable' || s.def.type === 'pipe')
    ) {
      s = s.def.type === 'pipe' ? s.def.in : s.def.innerType;
    }
    return s;
  };
  for (const segment of path) {
    const s: any = unwrap(schema);
    if (s?.def?.type === 'object') schema = s.def.shape[segment as string];
    else if (s?.def?.type === 'record') schema = s.def.valueType;
    else if (s?.def?.type === 'array') schema = s.def.element;
    else return [];
  }
  const s: any = unwrap(schema);
  return s?.def?.type === 'object' ? Object.keys(s.def.shape) : [];
}

/** A path as messages show it; a name is escaped as a quoted value is, so it prints as plain text on one line. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    const name = typeof seg === 'number' ? '' : quote(seg).slice(1, -1);
    out += typeof seg === 'number' ? `[${seg}]` : out ? `.${name}` : name;
  }
  return out;
}

/** Position of the deepest YAML node along `path` (a map key where the last segment is a key). */
function locate(doc: Document, lc: LineCounter, path: Path, atKey = false): { line: number; col: number } {
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  let offset = node?.range?.[0] ?? 0;
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const key = pair.key as YamlNode;
      offset = (pair.value as YamlNode | null)?.range?.[0] ?? key.range?.[0] ?? offset;
      if (i === path.length - 1 && (atKey || !(pair.value as YamlNode | null)?.range))
        offset = key.range?.[0] ?? offset;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return lc.linePos(offset);
}

const DEFAULTS = { minSampleSize: 10_000, confidenceLevel: 0.95, runtimeDays: 14 } as const;

function toValidated(raw: RawConfig, secrets: string[]): ValidatedConfig {
  const ec = raw.experiment_config ?? {};
  const defaults = {
    minSampleSize: ec.min_sample_size ?? DEFAULTS.minSampleSize,
    confidenceLevel: ec.confidence_level ?? DEFAULTS.confidenceLevel,
    runtimeDays: ec.runtime_days ?? DEFAULTS.runtimeDays,
    trafficAllocation: (ec.traffic_allocation ?? 'fixed') as AllocationMode,
  };
  const ff = raw.feature_flags ?? { provider: 'memory' as const };
  const experiments = new Map<string, ValidatedExperiment>();
  for (const [key, exp] of Object.entries(raw.experiments ?? {}))
    experiments.set(key, toExperiment(key, exp, defaults));
  return {
    defaults,
    analyticsPlatforms: raw.analytics_platforms ?? ['jsonl'],
    featureFlags: {
      provider: ff.provider,
      evaluationTimeoutMs: ff.evaluation_timeout_ms ?? 1000,
      initTimeoutMs: ff.init_timeout_ms ?? 10_000,
      memoryFlags: ff.memory?.flags ?? {},
      options: ((ff as Record<string, unknown>)[ff.provider] as Record<string, unknown>) ?? {},
    },
    statisticalMethods: raw.statistical_methods ?? ['frequentist', 'bayesian'],
    monitoring: {
      realTimeMetrics: raw.monitoring?.real_time_metrics ?? true,
      anomalyDetection: raw.monitoring?.anomaly_detection ?? true,
      automaticRollback: raw.monitoring?.automatic_rollback ?? true,
      checkIntervalMs: parseDuration(raw.monitoring?.check_interval ?? '10s') ?? 10_000,
      srmAction: raw.monitoring?.srm_action ?? 'warn',
      srmThreshold: raw.monitoring?.srm_threshold ?? 0.001,
      anomalyAction: raw.monitoring?.anomaly_action ?? 'warn',
      rampBreachAction:
        raw.monitoring?.ramp_breach_action ?? ((raw.monitoring?.automatic_rollback ?? true) ? 'rollback' : 'pause'),
    },
    exposures: {
      enabled: raw.exposures?.enabled ?? true,
      dir: raw.exposures?.dir ?? '.switchyard/events',
      batchSize: raw.exposures?.batch_size ?? 500,
      flushIntervalMs: raw.exposures?.flush_interval_ms ?? 1000,
      queueCapacity: raw.exposures?.queue_capacity ?? 100_000,
      closeTimeoutMs: raw.exposures?.close_timeout_ms ?? 5000,
      sendTimeoutMs: raw.exposures?.send_timeout_ms ?? 60_000,
      dedupeCapacity: raw.exposures?.dedupe?.capacity ?? 100_000,
      dedupeWindowMs:
        raw.exposures?.dedupe?.window === undefined ? undefined : parseDuration(raw.exposures.dedupe.window),
      hashUnitsKey: raw.exposures?.hash_units_key,
      attributes: raw.exposures?.attributes ?? [],
      service: raw.exposures?.service,
      instance: raw.exposures?.instance,
    },
    analytics: {
      jsonl: {
        dir: raw.analytics?.jsonl?.dir ?? '.switchyard/exposures',
        maxFileBytes: raw.analytics?.jsonl?.max_file_bytes ?? 64 * 2 ** 20,
      },
      ...(raw.analytics?.segment
        ? {
            segment: {
              writeKey: raw.analytics.segment.write_key,
              host: raw.analytics.segment.host,
              path: raw.analytics.segment.path,
              ...sendTuningOf(raw.analytics.segment),
            },
          }
        : {}),
      ...(raw.analytics?.amplitude
        ? {
            amplitude: {
              apiKey: raw.analytics.amplitude.api_key,
              serverUrl: raw.analytics.amplitude.server_url,
              ...sendTuningOf(raw.analytics.amplitude),
            },
          }
        : {}),
      ...(raw.analytics?.mixpanel
        ? {
            mixpanel: {
              token: raw.analytics.mixpanel.token,
              host: raw.analytics.mixpanel.host,
              protocol: raw.analytics.mixpanel.protocol,
              ...sendTuningOf(raw.analytics.mixpanel),
            },
          }
        : {}),
    },
    analysis: {
      corrections: raw.analysis?.corrections ?? 'holm',
      attributionWindowMs:
        raw.analysis?.attribution_window === undefined
          ? 14 * 86_400_000
          : (parseDuration(raw.analysis.attribution_window) ?? 14 * 86_400_000),
      segments: raw.analysis?.segments ?? raw.exposures?.attributes ?? [],
      botMaxEventsPerDay: raw.analysis?.bot_max_events_per_day ?? 500,
      srmThreshold: raw.analysis?.srm_threshold ?? 0.001,
      mde: raw.analysis?.mde ?? 0.05,
      power: raw.analysis?.power ?? 0.8,
      decision: {
        minRuntimeDays: raw.analysis?.decision?.min_runtime_days ?? 7,
        requireMinSample: raw.analysis?.decision?.require_min_sample ?? true,
        primaryStatistic: raw.analysis?.decision?.primary_statistic ?? 'conversion',
        guardrailRequiresSignificance: raw.analysis?.decision?.guardrail_requires_significance ?? true,
      },
    },
    fleet: raw.fleet
      ? {
          redis: raw.fleet.redis,
          prefix: raw.fleet.prefix ?? 'switchyard',
          pushIntervalMs: raw.fleet.push_interval === undefined ? 2000 : parseDuration(raw.fleet.push_interval)!,
        }
      : undefined,
    experiments,
    secrets,
  };
}

function toExperiment(key: string, exp: RawExperiment, defaults: ValidatedConfig['defaults']): ValidatedExperiment {
  const alloc = exp.allocation ?? {};
  const mode = (alloc.mode ?? defaults.trafficAllocation) as AllocationMode;
  const steps: RampStep[] = [];
  if (mode === 'gradual' && alloc.schedule && alloc.start) {
    let t = Date.parse(alloc.start);
    for (const step of alloc.schedule) {
      const dwell = step.dwell === undefined ? Infinity : parseDuration(step.dwell)!;
      steps.push({ percent: step.percent, startsAt: t, endsAt: t + dwell });
      t += dwell;
    }
  }
  const arms = Object.keys(exp.variants).length;
  return {
    key,
    flag: exp.flag ?? key,
    control: exp.control ?? 'control',
    variants: Object.entries(exp.variants).map(([vk, v]) => ({
      key: vk,
      weight: v.weight ?? WEIGHT_TOTAL / arms,
      payload: v.payload,
    })),
    allocation: {
      mode,
      salt: alloc.salt ?? key,
      percent: alloc.percent ?? 100,
      steps,
      adaptive: mode === 'adaptive' ? toAdaptive(alloc, arms) : undefined,
    },
    primaryMetric: exp.primary_metric,
    secondaryMetrics: exp.secondary_metrics ?? [],
    guardrails: exp.guardrails ?? [],
    hypothesis: exp.hypothesis,
    owner: exp.owner,
    description: exp.description,
    allowReshuffle: exp.allow_reshuffle ?? false,
    minSampleSize: exp.min_sample_size ?? defaults.minSampleSize,
    confidenceLevel: exp.confidence_level ?? defaults.confidenceLevel,
    runtimeDays: exp.runtime_days ?? defaults.runtimeDays,
    funnel: exp.funnel ?? [],
    mde: exp.mde,
  };
}

/** How long an experiment's Redis sticky hash lives after its last use, unless sticky_ttl says otherwise: 90 days. */
export const DEFAULT_STICKY_TTL_MS = 90 * 86_400_000;

/** Default floor: 5% per arm, or less when that many arms (and the holdout) would not fit. */
const DEFAULT_FLOOR = 5;

function toAdaptive(alloc: NonNullable<RawExperiment['allocation']>, arms: number): ValidatedAdaptive {
  const holdout = alloc.holdout ?? 0;
  const floor = alloc.floor ?? Math.min(DEFAULT_FLOOR, (100 - holdout) / arms / 2);
  return {
    reweightEveryMs: alloc.reweight_every === undefined ? 3_600_000 : parseDuration(alloc.reweight_every)!,
    minSample: alloc.min_sample ?? 100,
    floor: floor / 100,
    holdout: holdout / 100,
    maxStep: (alloc.max_step ?? 20) / 100,
    draws: alloc.draws ?? 10_000,
    seed: alloc.seed ?? 0,
    metricKind: alloc.metric_kind ?? 'conversion',
    sticky: alloc.sticky ?? 'memory',
    stickyCapacity: alloc.sticky_capacity ?? 1_000_000,
    stickyTtlMs: alloc.sticky_ttl === undefined ? DEFAULT_STICKY_TTL_MS : parseDuration(alloc.sticky_ttl)!,
  };
}

/** The send tuning of an analytics platform's raw options. */
function sendTuningOf(raw: {
  concurrency?: number;
  compress?: boolean | number;
  batch_size?: number;
  batch_bytes?: number;
}): SendTuning {
  return {
    concurrency: raw.concurrency,
    compress: raw.compress,
    batchSize: raw.batch_size,
    batchBytes: raw.batch_bytes,
  };
}
