/**
 * Optimizely Feature Experimentation's control plane over its REST API (Flags v1), with a
 * personal access token as a Bearer token
 * (https://docs.developers.optimizely.com/feature-experimentation/docs/manage-rules):
 * - off / on: `POST /flags/v1/projects/{projectId}/flags/{flag}/environments/{env}/ruleset/disabled`
 *   and `.../ruleset/enabled`;
 * - rollout: the ruleset (`GET .../ruleset`), then `PATCH .../ruleset` with a JSON Patch
 *   replacing `/rules/{ruleKey}/percentage_included` (basis points, 0-10,000) of each
 *   targeted delivery rule (or the rule named in `ruleKey`).
 */
import {
  ControlHttp,
  checkPercent,
  controlError,
  isObject,
  malformedAnswer,
  type HttpOptions,
} from '../common/index.js';
import type { ControlPlane } from '../../src/ports.js';

export interface OptimizelyControlOptions extends HttpOptions {
  /** A personal access token (from the environment; never logged). */
  token: string;
  projectId: string | number;
  environmentKey: string;
  /** Default https://api.optimizely.com. */
  baseUrl?: string;
  /** The rule whose traffic a rollout sets (default: every targeted delivery rule). */
  ruleKey?: string;
}

interface Rule {
  key: string;
  type?: unknown;
}

const isRule = (r: unknown): r is Rule => isObject(r) && typeof r.key === 'string';

export class OptimizelyControlPlane implements ControlPlane {
  readonly vendor = 'optimizely';
  private readonly http: ControlHttp;
  private readonly base: string;

  constructor(private readonly options: OptimizelyControlOptions) {
    this.http = new ControlHttp('optimizely', [options.token], options);
    this.base = (options.baseUrl ?? 'https://api.optimizely.com').replace(/\/+$/, '');
  }

  private url(flag: string): string {
    const o = this.options;
    return `${this.base}/flags/v1/projects/${encodeURIComponent(String(o.projectId))}/flags/${encodeURIComponent(flag)}/environments/${encodeURIComponent(o.environmentKey)}/ruleset`;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}` };
  }

  async turnOff(flag: string): Promise<void> {
    await this.http.send({
      method: 'POST',
      url: `${this.url(flag)}/disabled`,
      headers: this.headers(),
      what: `disable flag "${flag}"`,
    });
  }

  async turnOn(flag: string): Promise<void> {
    await this.http.send({
      method: 'POST',
      url: `${this.url(flag)}/enabled`,
      headers: this.headers(),
      what: `enable flag "${flag}"`,
    });
  }

  async setRollout(flag: string, percent: number): Promise<void> {
    checkPercent('optimizely', percent);
    const what = `set the rollout of flag "${flag}" to ${percent}%`;
    let keys: string[];
    if (this.options.ruleKey) keys = [this.options.ruleKey];
    else {
      const ruleset = await this.http.send<unknown>({
        method: 'GET',
        url: this.url(flag),
        headers: this.headers(),
        what,
      });
      const rules = isObject(ruleset) ? (ruleset.rules ?? {}) : undefined;
      const list = isObject(rules) ? Object.values(rules) : undefined;
      if (!list?.every(isRule))
        throw malformedAnswer('optimizely', flag, 'the ruleset', 'rules, each an object with a key');
      keys = list.filter((r) => r.type === 'targeted_delivery').map((r) => r.key);
      if (keys.length === 0)
        throw controlError('optimizely', `flag "${flag}" has no targeted delivery rule to roll out`);
    }
    await this.http.send({
      method: 'PATCH',
      url: this.url(flag),
      headers: this.headers(),
      body: keys.map((key) => ({
        op: 'replace',
        path: `/rules/${key}/percentage_included`,
        value: Math.round(percent * 100),
      })),
      what,
    });
  }
}
