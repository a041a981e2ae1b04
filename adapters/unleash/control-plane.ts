/**
 * Unleash's control plane over its Admin API (an admin API token or a personal access
 * token in `Authorization`, as Unleash expects it, without a scheme):
 * - on / off: `POST /api/admin/projects/{project}/features/{flag}/environments/{env}/on|off`;
 * - rollout (a whole percentage): the flag's strategies in the environment
 *   (`GET .../environments/{env}/strategies`), each flexibleRollout updated with the new
 *   `rollout` (`PUT .../strategies/{id}`, the whole strategy as read, only the percentage
 *   changed, so title, disabled, sortOrder, stickiness, groupId, constraints, variants and
 *   segments stay: Unleash replaces constraints and variants with what the body carries, and
 *   segments when it carries a list; unleash-server 8 keeps a sortOrder the body leaves out,
 *   but the schema takes one, so it is sent as read); a flag without one gets a
 *   flexibleRollout strategy (`POST .../strategies`).
 * - Disabled rollouts: beside an enabled flexibleRollout, a disabled one is updated too, so
 *   enabling it later serves the percentage set last. A flag whose flexibleRollouts are all
 *   disabled is refused before any change: Unleash serves no disabled strategy, so the new
 *   percentage would reach no unit while the call reported it set.
 *   A new enabled rollout beside them is not added either: which strategy should serve is
 *   the operator's choice, not this tool's.
 * - A flag that an enabled standard (`default`) strategy without constraints or segments
 *   turns on for every unit is refused before any change: Unleash enables a unit that any
 *   strategy enables, so no rollout beside that strategy would change what anyone is served.
 * Reference: https://docs.getunleash.io/reference/api/unleash (Features, Strategies).
 */
import {
  ControlHttp,
  checkWholePercent,
  controlError,
  isObject,
  malformedAnswer,
  type HttpOptions,
} from '../common/index.js';
import type { ControlPlane } from '../../src/ports.js';

export interface UnleashControlOptions extends HttpOptions {
  /** The Unleash API URL (the one the client uses), e.g. https://unleash.example.com/api. */
  url: string;
  /** An admin API token or personal access token (from the environment; never logged). */
  token?: string;
  project?: string;
  environment?: string;
}

interface Strategy {
  id: string;
  name: string;
  title?: string | null;
  disabled?: boolean | null;
  parameters?: Record<string, string>;
  constraints?: unknown[];
  variants?: unknown[];
  segments?: number[];
  sortOrder?: number;
}

const isStrategy = (s: unknown): s is Strategy => isObject(s) && typeof s.id === 'string' && typeof s.name === 'string';

export class UnleashControlPlane implements ControlPlane {
  readonly vendor = 'unleash';
  private readonly http: ControlHttp;
  private readonly base: string;
  private readonly project: string;
  private readonly environment: string;

  constructor(private readonly options: UnleashControlOptions) {
    this.http = new ControlHttp('unleash', options.token ? [options.token] : [], options);
    this.base = options.url.replace(/\/+$/, '');
    this.project = options.project ?? 'default';
    this.environment = options.environment ?? 'development';
  }

  private headers(): Record<string, string> {
    return this.options.token ? { authorization: this.options.token } : {};
  }

  private env(flag: string): string {
    const p = encodeURIComponent(this.project);
    return `${this.base}/admin/projects/${p}/features/${encodeURIComponent(flag)}/environments/${encodeURIComponent(this.environment)}`;
  }

  async turnOff(flag: string): Promise<void> {
    await this.http.send({
      method: 'POST',
      url: `${this.env(flag)}/off`,
      headers: this.headers(),
      what: `turn flag "${flag}" off in ${this.environment}`,
    });
  }

  async turnOn(flag: string): Promise<void> {
    await this.http.send({
      method: 'POST',
      url: `${this.env(flag)}/on`,
      headers: this.headers(),
      what: `turn flag "${flag}" on in ${this.environment}`,
    });
  }

  async setRollout(flag: string, percent: number): Promise<void> {
    // A strategy's rollout is a whole percentage: SDKs that read it with an integer parse
    // (Ruby's Integer()) enable no unit at "12.5", where the Node SDK enables 12%.
    checkWholePercent('unleash', 'Unleash', percent);
    const what = `set the rollout of flag "${flag}" to ${percent}% in ${this.environment}`;
    const strategies = await this.http.send<unknown>({
      method: 'GET',
      url: `${this.env(flag)}/strategies`,
      headers: this.headers(),
      what,
    });
    if (!Array.isArray(strategies) || !strategies.every(isStrategy))
      throw malformedAnswer('unleash', flag, 'its strategies', 'a list of strategies, each with an id and a name');
    const everyone = strategies.find(
      (s) => s.name === 'default' && s.disabled !== true && !s.constraints?.length && !s.segments?.length,
    );
    if (everyone)
      throw controlError(
        'unleash',
        `flag "${flag}" was not changed: its "default" strategy (${everyone.id}) turns it on for every unit in ${this.environment}, so a rollout beside it would change nothing; remove that strategy or make it a flexibleRollout`,
      );
    const rollouts = strategies.filter((s) => s.name === 'flexibleRollout');
    if (rollouts.length === 0) {
      await this.http.send({
        method: 'POST',
        url: `${this.env(flag)}/strategies`,
        headers: this.headers(),
        body: {
          name: 'flexibleRollout',
          parameters: { rollout: String(percent), stickiness: 'default', groupId: flag },
          constraints: [],
        },
        what,
      });
      return;
    }
    if (rollouts.every((s) => s.disabled === true))
      throw controlError(
        'unleash',
        `flag "${flag}" was not changed: every flexibleRollout strategy of it in ${this.environment} is disabled (${rollouts.map((s) => s.id).join(', ')}), so the rollout would serve no unit; enable one or remove them`,
      );
    for (const s of rollouts) {
      await this.http.send({
        method: 'PUT',
        url: `${this.env(flag)}/strategies/${encodeURIComponent(s.id)}`,
        headers: this.headers(),
        body: {
          name: s.name,
          ...(typeof s.title === 'string' ? { title: s.title } : {}),
          ...(typeof s.disabled === 'boolean' ? { disabled: s.disabled } : {}),
          ...(typeof s.sortOrder === 'number' ? { sortOrder: s.sortOrder } : {}),
          parameters: { ...s.parameters, rollout: String(percent) },
          constraints: s.constraints ?? [],
          variants: s.variants ?? [],
          segments: s.segments ?? [],
        },
        what,
      });
    }
  }
}
