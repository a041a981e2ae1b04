/**
 * getVariant's slow path when hooks are registered: OpenFeature's before / after / error / finally series around an evaluation.
 *
 * The same order and hook-context semantics as OpenFeature's client (requirement 4.x),
 * over a string evaluation whose value is the variant key. A hook that throws, rejects or
 * hangs past the evaluation timeout makes the answer the control with a code; error and
 * finally hooks that fail are logged and ignored.
 */
import {
  instantiateErrorByErrorCode,
  OpenFeature,
  StandardResolutionReasons,
  type Client,
  type EvaluationContext,
  type EvaluationDetails,
  type Hook,
  type HookContext,
  type ProviderMetadata,
} from '@openfeature/server-sdk';
import { messageOf } from '../errors.js';
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

  /**
   * Never rejects, and answers within the evaluation timeout per hook: a hook that throws,
   * rejects or does not settle within `feature_flags.evaluation_timeout_ms` makes the answer
   * the control (SY_PROVIDER_ERROR), as do options or a context that cannot be read. The
   * answer, and its exposure, are made only once the after hooks have passed: an answer an
   * after hook turned into the control logs no exposure for the arm it replaced.
   */
  async getVariant(flag: string, ctx: EvaluationContext, options: GetVariantOptions): Promise<VariantResult> {
    const plan = this.engine.planForFlag(flag);
    let hooks: Hook[];
    let merged: EvaluationContext;
    let hints: Readonly<Record<string, unknown>>;
    try {
      if (options.hooks !== undefined && !Array.isArray(options.hooks))
        throw new Error('options.hooks must be an array of OpenFeature hooks');
      hooks = [
        ...OpenFeature.getHooks(),
        ...this.client.getHooks(),
        ...(options.hooks ?? []),
        ...(this.engine.vendor.hooks ?? []),
      ] as Hook[];
      merged = { ...ctx };
      hints = Object.freeze({ ...(options.hookHints ?? {}) });
    } catch (error) {
      return this.finish(this.engine.fail(flag, plan, 'SY_INVALID_ARGUMENT', `getVariant: ${messageOf(error)}`), {});
    }
    const reversed = [...hooks].reverse();
    const defaultValue = plan?.control ?? '';
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
    let result: VariantResult;
    let details: EvaluationDetails<string>;
    try {
      for (const hook of hooks) {
        const extra = await this.bounded(hook.before?.(hookContexts.get(hook)!, hints), 'a before hook');
        if (extra) Object.assign(merged, extra);
      }
      const ev = await this.engine.evaluate(flag, Object.freeze({ ...merged }));
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
          // The error OpenFeature's client gives its error hooks for the same answer (FlagNotFoundError, ...):
          // a hook written for OpenFeature reads its code the same on both paths.
          instantiateErrorByErrorCode(ev.errorCode, ev.errorMessage ?? ''),
          hints,
        );
      } else {
        for (const hook of reversed)
          await this.bounded(hook.after?.(hookContexts.get(hook)!, details, hints), 'an after hook');
      }
      result = this.finish(ev, merged);
    } catch (error) {
      await this.runErrorHooks(reversed, hookContexts, error, hints);
      const ev = this.engine.fail(flag, plan, 'SY_PROVIDER_ERROR', `a hook failed: ${messageOf(error)}`);
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
        await this.bounded(hook.finally?.(hookContexts.get(hook)!, details, hints), 'a finally hook');
      } catch (error) {
        this.logger.error('a finally hook failed; ignored', { error: messageOf(error) });
      }
    }
    return result;
  }

  /** A hook's result, or a rejection when it does not settle within the evaluation timeout. */
  private async bounded<T>(value: T | Promise<T>, what: string): Promise<T> {
    if (!(value instanceof Promise) && typeof (value as PromiseLike<T> | undefined)?.then !== 'function') return value;
    const ms = this.engine.evaluationTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([value, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runErrorHooks(
    hooks: readonly Hook[],
    contexts: Map<Hook, HookContext>,
    error: unknown,
    hints: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    for (const hook of hooks) {
      try {
        await this.bounded(hook.error?.(contexts.get(hook)!, error, hints), 'an error hook');
      } catch (caught) {
        this.logger.error('an error hook failed; ignored', { error: messageOf(caught) });
      }
    }
  }
}
