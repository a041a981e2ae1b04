/**
 * Builds the sinks named in `analytics_platforms`: the JSONL files, or a platform's batch
 * API (Segment, Amplitude, Mixpanel) with its credentials and how it sends (analytics.<platform>).
 */
import { configMessages, type ValidatedConfig } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import { JsonlSink, amplitudeSink, mixpanelSink, segmentSink, type Sink } from '../exposure/index.js';
import type { Clock } from '../ports.js';

export async function sinksFromConfig(config: ValidatedConfig, clock: Clock): Promise<Sink[]> {
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
  return sinks;
}
