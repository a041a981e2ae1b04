/**
 * Split's (Harness FME) control plane over its Admin API, with an Admin API key as a
 * Bearer token (https://docs.split.io/reference/authentication):
 * - off: `PUT /internal/api/v2/splits/ws/{workspaceId}/{flag}/environments/{environmentId}/kill`
 *   (https://docs.split.io/reference/kill-split-in-environment);
 * - on: `PUT .../environments/{environmentId}/restore`
 *   (https://docs.split.io/reference/restore-split-in-environment);
 * - rollout: `PATCH .../environments/{environmentId}` with a JSON Patch replacing
 *   `/defaultRule` by the on treatment at the percentage and the off treatment at the rest
 *   (https://docs.split.io/reference/partial-update-split-definition-in-environment).
 */
import { ControlHttp, checkWholePercent, type HttpOptions } from '../common/index.js';
import type { ControlPlane } from '../../src/ports.js';

export interface SplitControlOptions extends HttpOptions {
  /** An Admin API key (from the environment; never logged). */
  token: string;
  workspaceId: string;
  environmentId: string;
  /** Default https://api.split.io. */
  baseUrl?: string;
  /** The treatments a rollout splits between (default on / off). */
  onTreatment?: string;
  offTreatment?: string;
}

export class SplitControlPlane implements ControlPlane {
  readonly vendor = 'split';
  private readonly http: ControlHttp;
  private readonly base: string;

  constructor(private readonly options: SplitControlOptions) {
    this.http = new ControlHttp('split', [options.token], options);
    this.base = (options.baseUrl ?? 'https://api.split.io').replace(/\/+$/, '');
  }

  private url(flag: string): string {
    const o = this.options;
    return `${this.base}/internal/api/v2/splits/ws/${encodeURIComponent(o.workspaceId)}/${encodeURIComponent(flag)}/environments/${encodeURIComponent(o.environmentId)}`;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}` };
  }

  async turnOff(flag: string): Promise<void> {
    await this.http.send({
      method: 'PUT',
      url: `${this.url(flag)}/kill`,
      headers: this.headers(),
      what: `kill flag "${flag}"`,
    });
  }

  async turnOn(flag: string): Promise<void> {
    await this.http.send({
      method: 'PUT',
      url: `${this.url(flag)}/restore`,
      headers: this.headers(),
      what: `restore flag "${flag}"`,
    });
  }

  async setRollout(flag: string, percent: number): Promise<void> {
    checkWholePercent('split', 'Split', percent);
    await this.http.send({
      method: 'PATCH',
      url: this.url(flag),
      headers: this.headers(),
      body: [
        {
          op: 'replace',
          path: '/defaultRule',
          value: [
            { treatment: this.options.onTreatment ?? 'on', size: percent },
            { treatment: this.options.offTreatment ?? 'off', size: 100 - percent },
          ],
        },
      ],
      what: `set the rollout of flag "${flag}" to ${percent}%`,
    });
  }
}
