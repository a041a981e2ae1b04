/**
 * getVariant's slow path when hooks are registered: OpenFeature's before / after / error / finally series around an evaluation.
 *
 * The same order and hook-context semantics as OpenFeature's client (requirement 4.x),
 * over a string evaluation whose value is the variant key. A hook that throws makes the
 * answer the control with a code; error and finally hooks that throw are logged and ignored.
 */
import {
  OpenFeature,
  StandardResolutionReasons,
  type Client,
  type EvaluationContext,
  type EvaluationDetails,
  type Hook,
  type HookContext,
  type ProviderMetadata,
} from '@openfeature/server-sdk';
import { SwitchyardError } from '../errors.js';
import type { Logger } from '../ports.js';
import { flagMetadataOf } from './allocation-provider.js';
import type { Engine, Evaluation } from './engine.js';
import type { GetVariantOptions, VariantResult } from './types.js';

export class HookRunner {
  /**
   * @param finish turns an evaluation into the caller's answer (and logs its exposure)
   */
  constructor(
    private readonly engine: Engine,
    private readonly client: Client,
    private readonly providerMetadata: ProviderMetadata,
    private readonly logger: Logger,
    private readonly finish: (ev: Evaluation, ctx: EvaluationContext) => VariantResult,
  ) {}

  /** Whether any hook would run for this call: the API's, the client's, the call's or the vendor's. */
  hasHooks(options: GetVariantOptions | undefined): boolean {
    return (
      OpenFeature.getHooks().length > 0 ||
      this.client.getHooks().length > 0 ||
      (options?.hooks?.length ?? 0) > 0 ||
      (this.engine.vendor.hooks?.length ?? 0) > 0
    );
  }

  async getVariant(flag: string, ctx: EvaluationContext, options: GetVariantOptions): Promise<VariantResult> {
    const hooks = [
      ...OpenFeature.getHooks(),
      ...this.client.getHooks(),
      ...(options.hooks ?? []),
      ...(this.engine.vendor.hooks ?? []),
    ] as Hook[];
    const reversed = [...hooks].reverse();
    const plan = this.engine.planForFlag(flag);
    const defaultValue = plan?.control ?? '';
    const merged: EvaluationContext = { ...ctx };
    const hookContexts = new Map<Hook, HookContext>();
    for (const hook of hooks) {
      hookContexts.set(
        hook,
        Object.freeze({
          flagKey: flag,
          defaultValue,
          flagValueType: 'string',
          clientMetadata: this.client.metadata,
          providerMetadata: this.providerMetadata,
          context: merged,
          logger: console,
          hookData: new Map() as never,
        }) as HookContext,
      );
    }
    const hints = Object.freeze({ ...(options.hookHints ?? {}) });
    let result: VariantResult;
    let details: EvaluationDetails<string>;
    try {
      for (const hook of hooks) {
        const extra = await hook.before?.(hookContexts.get(hook)!, hints);
        if (extra) Object.assign(merged, extra);
      }
      const ev = await this.engine.evaluate(flag, Object.freeze({ ...merged }));
      result = this.finish(ev, merged);
      details = {
        flagKey: flag,
        value: (ev.variant ?? defaultValue) as string,
        variant: ev.variant,
        reason: ev.reason,
        flagMetadata: Object.freeze(flagMetadataOf(ev)),
        ...(ev.errorCode ? { errorCode: ev.errorCode, errorMessage: ev.errorMessage } : {}),
      };
      if (ev.errorCode) {
        await this.runErrorHooks(
          reversed,
          hookContexts,
          new SwitchyardError(ev.problem ?? 'SY_PROVIDER_ERROR', 'getVariant', ev.errorMessage ?? ''),
          hints,
        );
      } else {
        for (const hook of reversed) await hook.after?.(hookContexts.get(hook)!, details, hints);
      }
    } catch (error) {
      await this.runErrorHooks(reversed, hookContexts, error, hints);
      const ev = this.engine.fail(
        flag,
        plan,
        'SY_PROVIDER_ERROR',
        `a hook failed: ${(error as Error)?.message ?? String(error)}`,
      );
      result = this.finish(ev, merged);
      details = {
        flagKey: flag,
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ev.errorCode,
        errorMessage: ev.errorMessage,
        flagMetadata: {},
      };
    }
    for (const hook of reversed) {
      try {
        await hook.finally?.(hookContexts.get(hook)!, details, hints);
      } catch (error) {
        this.logger.error('a finally hook threw; ignored', { error: String(error) });
      }
    }
    return result;
  }

  private async runErrorHooks(
    hooks: readonly Hook[],
    contexts: Map<Hook, HookContext>,
    error: unknown,
    hints: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook.error?.(contexts.get(hook)!, error, hints);
      } catch (caught) {
        this.logger.error('an error hook threw; ignored', { error: String(caught) });
      }
    }
  }
}
