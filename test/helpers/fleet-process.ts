/** A switchyard service in a child process (test/fixtures/fleet-child.ts), driven over stdin/stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Line {
  [key: string]: unknown;
}

export class FleetProcess {
  readonly lines: Line[] = [];
  private readonly waiters: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private nextId = 1;
  readonly child: ChildProcess;
  stderr = '';

  private constructor(config: Record<string, unknown>, env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/fleet-child.ts'], {
      env: { ...process.env, SY_CONFIG: JSON.stringify(config), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { text };
      }
      this.lines.push(line);
      for (const w of [...this.waiters])
        if (w.match(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /**
   * Starts the child and waits (at most `readyTimeoutMs`) for its first answer: a tsx child
   * takes a second or two alone, and over 30 s while a loaded 2-core machine starts several.
   */
  static async start(
    config: Record<string, unknown>,
    env: Record<string, string> = {},
    readyTimeoutMs = 90_000,
  ): Promise<FleetProcess> {
    const p = new FleetProcess(config, env);
    await p.next((l) => l.ready === true, readyTimeoutMs, 'ready');
    return p;
  }

  get first(): { variant: string; reason: string } {
    return this.lines.find((l) => l.ready === true)!.first as { variant: string; reason: string };
  }

  /** The first line (already seen or to come) that matches. */
  next(match: (l: Line) => boolean, timeoutMs = 10_000, what = 'a line'): Promise<Line> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out waiting for ${what}; lines: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  async send(command: Record<string, unknown>): Promise<Line> {
    const id = this.nextId++;
    const answer = this.next((l) => l.id === id, 10_000, `answer to ${JSON.stringify(command)}`);
    this.child.stdin!.write(JSON.stringify({ id, ...command }) + '\n');
    return answer;
  }

  async variant(unit = 'probe-unit', flag = 'exp'): Promise<{ variant: string; reason: string }> {
    const answer = await this.send({ cmd: 'variant', unit, flag });
    return { variant: answer.variant as string, reason: answer.reason as string };
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Ends the process abruptly (a crash: nothing flushed, nothing closed). */
  async crash(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.write(JSON.stringify({ id: 0, cmd: 'close' }) + '\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
