/**
 * The gradual ramp the kill, pause and overrule tests run: experiment `ramp`, 5% then 25%
 * a day each from `start`, then 100%, checks an hour apart (the tests drive them), no
 * exposures logged; `fleet` for a shared Redis, `extra` merged into the experiment.
 */
export function rampConfig(
  dir: string,
  start: number,
  fleet?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir },
    monitoring: { check_interval: '1h' },
    experiments: {
      ramp: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        allocation: {
          mode: 'gradual',
          start: new Date(start).toISOString(),
          schedule: [{ percent: 5, dwell: '1d' }, { percent: 25, dwell: '1d' }, { percent: 100 }],
        },
        ...extra,
      },
    },
    ...(fleet ? { fleet } : {}),
  };
}
