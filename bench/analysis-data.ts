/**
 * The analysis benchmark's data: n exposures and about n events (view 60%, purchase 40% in
 * control and 42% in treatment), over 14 days in daily files, each line with its own id.
 * Written once per size under SY_BENCH_ANALYSIS_DATA (default /tmp/sy-bench-analysis) and
 * reused: a finished set has a `lines` file with its line count (10M exposures take minutes).
 * Run directly to generate ahead of time: `npx tsx bench/analysis-data.ts 10000000`.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

export function dataRoot(): string {
  return process.env.SY_BENCH_ANALYSIS_DATA ?? '/tmp/sy-bench-analysis';
}

/** The directory of the n-exposure data set, generated on first use; returns it and its line count. */
export async function benchData(n: number): Promise<{ dir: string; lines: number }> {
  const dir = join(dataRoot(), `n${n}`);
  const marker = join(dir, 'lines');
  if (existsSync(marker)) return { dir, lines: Number(readFileSync(marker, 'utf8')) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lines = await generate(join(dir, 'jsonl'), n);
  writeFileSync(marker, String(lines));
  return { dir, lines };
}

async function generate(dir: string, n: number): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  const streams = new Map<string, ReturnType<typeof createWriteStream>>();
  const buffers = new Map<string, string[]>();
  let seed = 12345;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let lines = 0;
  const put = async (ts: number, line: string) => {
    const day = new Date(ts).toISOString().slice(0, 10);
    let buf = buffers.get(day);
    if (!buf) {
      buffers.set(day, (buf = []));
      streams.set(day, createWriteStream(join(dir, `exposures-${day}.jsonl`)));
    }
    buf.push(line);
    lines++;
    if (buf.length >= 5000) {
      const s = streams.get(day)!;
      if (!s.write(buf.join('\n') + '\n')) await once(s, 'drain');
      buf.length = 0;
    }
  };
  // Unique, ULID-shaped ids (26 characters), so that deduplication by id has real work to do.
  const id = () => `01J${String(lines).padStart(23, '0')}`;
  for (let i = 0; i < n; i++) {
    const variant = rnd() < 0.5 ? 'control' : 'treatment';
    const ts = t0 + Math.floor(rnd() * 14 * 86_400_000);
    const unit = `u${i}`;
    await put(
      ts,
      `{"schema":"switchyard.exposure/1","id":"${id()}","ts":"${new Date(ts).toISOString()}","unit":"${unit}","experiment":"bench","flag":"bench","variant":"${variant}","allocation":{"mode":"fixed","version":0,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory","attributes":{"country":"${['DE', 'FR', 'US', 'JP'][i & 3]}"}}`,
    );
    if (rnd() < 0.6) {
      const tv = ts + 1000 + Math.floor(rnd() * 600_000);
      await put(
        tv,
        `{"schema":"switchyard.event/1","id":"${id()}","ts":"${new Date(tv).toISOString()}","unit":"${unit}","event":"view","properties":{}}`,
      );
      if (rnd() < (variant === 'control' ? 0.4 : 0.42) / 0.6) {
        const tp = tv + 1000 + Math.floor(rnd() * 3_600_000);
        await put(
          tp,
          `{"schema":"switchyard.event/1","id":"${id()}","ts":"${new Date(tp).toISOString()}","unit":"${unit}","event":"purchase","value":${10 + Math.floor(rnd() * 90)},"properties":{}}`,
        );
      }
    }
  }
  for (const [day, s] of streams) {
    const buf = buffers.get(day)!;
    if (buf.length) s.write(buf.join('\n') + '\n');
    s.end();
    await once(s, 'finish');
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const n of process.argv.slice(2).map(Number)) console.log(JSON.stringify({ n, ...(await benchData(n)) }));
}
