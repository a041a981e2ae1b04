/**
 * LaunchDarkly's control plane over its REST API with semantic patch
 * (https://launchdarkly.com/docs/api/feature-flags/update-feature-flag):
 * `PATCH /api/v2/flags/{projectKey}/{flagKey}` with
 * `Content-Type: application/json; domain-model=launchdarkly.semanticpatch`, the API access
 * token in `Authorization` (no scheme), and `{ environmentKey, instructions }`:
 * `turnFlagOff` / `turnFlagOn`, and for a rollout `updateFallthroughVariationOrRollout`
 * with `rolloutWeights` per variation id in thousandths of a percent (summing to 100,000):
 * the flag's `true` variation (or `onVariation`, by value) gets the percentage, the other
 * variations share the rest. Variation ids come from `GET /api/v2/flags/{projectKey}/{flagKey}`.
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

export interface LaunchDarklyControlOptions extends HttpOptions {
  /** An API access token with writer rights (from the environment; never logged). */
  token: string;
  projectKey: string;
  environmentKey: string;
  /** Default https://app.launchdarkly.com. */
  baseUrl?: string;
  /** The value of the variation a rollout percentage turns on (default true). */
  onValue?: unknown;
}

interface Variation {
  _id: string;
  value: unknown;
}

const isVariation = (v: unknown): v is Variation => isObject(v) && typeof v._id === 'string';

const SEMANTIC = 'application/json; domain-model=launchdarkly.semanticpatch';

export class LaunchDarklyControlPlane implements ControlPlane {
  readonly vendor = 'launchdarkly';
  private readonly http: ControlHttp;
  private readonly base: string;

  constructor(private readonly options: LaunchDarklyControlOptions) {
    this.http = new ControlHttp('launchdarkly', [options.token], options);
    this.base = (options.baseUrl ?? 'https://app.launchdarkly.com').replace(/\/+$/, '');
  }

  private url(flag: string): string {
    return `${this.base}/api/v2/flags/${encodeURIComponent(this.options.projectKey)}/${encodeURIComponent(flag)}`;
  }

  private patch(flag: string, instructions: unknown[], what: string): Promise<unknown> {
    return this.http.send({
      method: 'PATCH',
      url: this.url(flag),
      headers: { authorization: this.options.token, 'content-type': SEMANTIC },
      body: { environmentKey: this.options.environmentKey, instructions },
      what,
    });
  }

  async turnOff(flag: string): Promise<void> {
    await this.patch(flag, [{ kind: 'turnFlagOff' }], `turn flag "${flag}" off`);
  }

  async turnOn(flag: string): Promise<void> {
    await this.patch(flag, [{ kind: 'turnFlagOn' }], `turn flag "${flag}" on`);
  }

  async setRollout(flag: string, percent: number): Promise<void> {
    checkPercent('launchdarkly', percent);
    const what = `set the rollout of flag "${flag}" to ${percent}%`;
    const found = await this.http.send<unknown>({
      method: 'GET',
      url: this.url(flag),
      headers: { authorization: this.options.token },
      what,
    });
    const variations = isObject(found) ? found.variations : undefined;
    if (!Array.isArray(variations) || !variations.every(isVariation))
      throw malformedAnswer('launchdarkly', flag, 'the flag', 'a list of variations, each with an _id');
    const onValue = this.options.onValue ?? true;
    const on = variations.find((v) => JSON.stringify(v.value) === JSON.stringify(onValue));
    if (!on || variations.length < 2)
      throw controlError(
        'launchdarkly',
        `flag "${flag}" has no variation ${JSON.stringify(onValue)} and another to roll out against`,
      );
    const onWeight = Math.round(percent * 1000);
    const others = variations.filter((v) => v !== on);
    const rolloutWeights: Record<string, number> = { [on._id]: onWeight };
    let left = 100_000 - onWeight;
    others.forEach((v, i) => {
      const w = i === others.length - 1 ? left : Math.floor((100_000 - onWeight) / others.length);
      rolloutWeights[v._id] = w;
      left -= w;
    });
    await this.patch(flag, [{ kind: 'updateFallthroughVariationOrRollout', rolloutWeights }], what);
  }
}
