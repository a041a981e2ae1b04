/**
 * Kill propagation through Redis: 4 switchyard services in separate processes share a
 * Redis (a random prefix on 127.0.0.1:6379); in each trial one of them (in turn) calls
 * sy.kill(), and every process reports when it served the control (it evaluates a unit
 * the moment its 'kill' event fires). Latency = that moment minus the moment just before
 * the kill call, both read from the system clock (performance.timeOrigin + now()), so
 * the figure includes the Redis write, pub/sub delivery, parsing and the evaluation.
 * Then the experiment is unkilled the same way before the next trial.
 */
import { FleetProcess, type Line } from '../test/helpers/fleet-process.js';
import { SHARED_REDIS, deletePrefix, randomPrefix } from '../test/helpers/redis.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROCESSES = 4;
const RUNS = 3;
const TRIALS = 100;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const ms = (x: number) => x.toFixed(2);

export async function benchFleet(): Promise<string> {
  const prefix = randomPrefix();
  const dirs: string[] = [];
  const procs: FleetProcess[] = [];
  try {
    for (let i = 0; i < PROCESSES; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'sy-bench-fleet-'));
      dirs.push(dir);
      procs.push(
        await FleetProcess.start({
          feature_flags: { provider: 'memory' },
          exposures: { dir },
          experiments: { exp: { variants: { control: { weight: 0 }, treatment: { weight: 100 } } } },
          fleet: { redis: SHARED_REDIS, prefix },
        }),
      );
    }
    const runs: { remote: number[]; local: number[]; unkill: number[] }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const remote: number[] = [];
      const local: number[] = [];
      const unkill: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const killer = procs[trial % PROCESSES]!;
        const reason = `r${run}-t${trial}`;
        const isServed = (killed: boolean) => (l: Line) => {
          const k = l.kill as { reason?: string; killed?: boolean } | undefined;
          const s = l.served as { reason?: string } | undefined;
          return (
            k?.killed === killed &&
            (killed ? k.reason === reason : true) &&
            l.t !== undefined &&
            (killed ? s?.reason === 'DISABLED' : s?.reason === 'SPLIT') &&
            !(l as { used?: boolean }).used
          );
        };
        const waits = procs.map((p) => p.next(isServed(true), 10_000, `trial ${reason}`));
        const { t } = (await killer.send({ cmd: 'kill', experiment: 'exp', reason })) as { t: number };
        const lines = await Promise.all(waits);
        lines.forEach(
          (l, i) => (
            (procs[i] === killer ? local : remote).push((l.t as number) - t),
            ((l as { used?: boolean }).used = true)
          ),
        );
        const unwaits = procs.map((p) => p.next(isServed(false), 10_000, `unkill ${reason}`));
        const u = (await killer.send({ cmd: 'unkill', experiment: 'exp' })) as { t: number };
        const ulines = await Promise.all(unwaits);
        ulines.forEach((l, i) => {
          if (procs[i] !== killer) unkill.push((l.t as number) - u.t);
          (l as { used?: boolean }).used = true;
        });
      }
      runs.push({ remote, local, unkill });
    }
    const row = (name: string, pick: (r: (typeof runs)[number]) => number[]) => {
      const all = runs.flatMap(pick);
      const p50s = runs.map((r) => quantile(pick(r), 0.5));
      const p99s = runs.map((r) => quantile(pick(r), 0.99));
      return `| ${name} | ${all.length} | ${ms(quantile(all, 0.5))} | ${ms(quantile(all, 0.99))} | ${ms(Math.max(...all))} | ${ms(Math.min(...p50s))}-${ms(Math.max(...p50s))} | ${ms(Math.min(...p99s))}-${ms(Math.max(...p99s))} |`;
    };
    return [
      '## Kill propagation across a fleet (bench/fleet.ts)',
      '',
      `${PROCESSES} service processes share Redis (127.0.0.1:6379); ${RUNS} runs of ${TRIALS} trials, the killing process taking`,
      'turns. Latency: from just before `sy.kill()` in one process to the moment each process served the control',
      "(evaluated when its 'kill' event fired), on the system clock. Target: p99 <= 100 ms.",
      '',
      '| measured | samples | p50 ms | p99 ms | max ms | p50 range over runs | p99 range over runs |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('kill, the other 3 processes (through Redis)', (r) => r.remote),
      row('kill, the killing process itself', (r) => r.local),
      row('unkill, the other 3 processes', (r) => r.unkill),
      '',
    ].join('\n');
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await deletePrefix(prefix);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
