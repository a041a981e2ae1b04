/**
 * Builds the sinks named in `analytics_platforms`: the JSONL files, or a platform's batch
 * API (Segment, Amplitude, Mixpanel) with its credentials and how it sends (analytics.<platform>),
 * followed by the custom sinks of the options.
 */
import { configMessages, type ValidatedConfig } from '../config/index.js';
import { shown, SwitchyardError } from '../errors.js';
import { JsonlSink, amplitudeSink, mixpanelSink, segmentSink, type Sink } from '../exposure/index.js';
import type { Clock } from '../ports.js';

/**
 * The sinks of the config and then `custom` (options.sinks). Each has a name of its own:
 * a sink's place in the journal, its counters and its dead-letter file are kept by name,
 * and two sinks of one name saved one cursor, so after a restart a sink that had been down
 * resumed from the other's and never got the events it had missed. A custom sink's
 * maxBatch and concurrency, when set, are whole numbers from 1 (0 or NaN stalled its
 * delivery without a word, 2.5 sent each event three times, -1 overflowed the stack).
 */
/** A sink name that is safe as a file name (no separator, no "..", no hidden file). */
const SINK_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export async function sinksFromConfig(
  config: ValidatedConfig,
  clock: Clock,
  custom: readonly Sink[] = [],
): Promise<Sink[]> {
  const names = new Set<unknown>(config.analyticsPlatforms);
  custom.forEach((sink, i) => {
    const name: unknown = sink?.name;
    const problem =
      typeof name !== 'string' || name === ''
        ? `needs a name: a string that is not empty, found ${shown(name)}`
        : !SINK_NAME.test(name)
          ? `is named ${shown(name)}: a sink's name is also its dead-letter file's (dead-letters/<name>.jsonl), so it may hold letters, digits, '.', '_' and '-' only, at most 64, not starting with '.'`
          : names.has(name)
            ? `is named ${shown(name)}, as another sink is: give each sink a name of its own (its place in the journal, its counters and its dead-letter file are kept by name)`
            : undefined;
    if (problem) throw new SwitchyardError('SY_INVALID_ARGUMENT', 'createSwitchyard', `options.sinks[${i}] ${problem}`);
    for (const key of ['maxBatch', 'concurrency'] as const) {
      const value: unknown = sink[key];
      if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 1))
        throw new SwitchyardError(
          'SY_INVALID_ARGUMENT',
          'createSwitchyard',
          `options.sinks[${i}].${key} must be a whole number of at least 1, found ${shown(value)}`,
        );
    }
    names.add(name);
  });
  const sinks: Sink[] = [];
  for (const platform of config.analyticsPlatforms) {
    if (platform === 'jsonl') {
      sinks.push(
        new JsonlSink({ dir: config.analytics.jsonl.dir, maxFileBytes: config.analytics.jsonl.maxFileBytes, clock }),
      );
      continue;
    }
    const options = config.analytics[platform];
    if (!options)
      throw new SwitchyardError(
        'SY_CONFIG_INVALID',
        `analytics.${platform}`,
        configMessages.platformNeedsOptions(platform),
      );
    try {
      if (platform === 'segment') {
        const o = config.analytics.segment!;
        sinks.push(await segmentSink(o));
      } else if (platform === 'amplitude') {
        const o = config.analytics.amplitude!;
        sinks.push(await amplitudeSink(o));
      } else {
        const o = config.analytics.mixpanel!;
        sinks.push(await mixpanelSink(o));
      }
    } catch (cause) {
      throw new SwitchyardError('SY_NOT_AVAILABLE', `analytics_platforms`, (cause as Error).message, { cause });
    }
  }
  return sinks.concat(custom);
}
