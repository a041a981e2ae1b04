/**
 * The one place where switchyard's codes meet OpenFeature's ErrorCode.
 */
import { ErrorCode } from '@openfeature/server-sdk';
import type { SwitchyardCode } from '../errors.js';

const TO_OPENFEATURE: Partial<Record<SwitchyardCode, ErrorCode>> = {
  SY_FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  SY_TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  SY_PROVIDER_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
  SY_TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  SY_INVALID_ARGUMENT: ErrorCode.INVALID_CONTEXT,
};

const FROM_OPENFEATURE: Partial<Record<string, SwitchyardCode>> = {
  [ErrorCode.FLAG_NOT_FOUND]: 'SY_FLAG_NOT_FOUND',
  [ErrorCode.TYPE_MISMATCH]: 'SY_TYPE_MISMATCH',
  [ErrorCode.PROVIDER_NOT_READY]: 'SY_PROVIDER_NOT_READY',
  [ErrorCode.TARGETING_KEY_MISSING]: 'SY_TARGETING_KEY_MISSING',
  [ErrorCode.INVALID_CONTEXT]: 'SY_INVALID_ARGUMENT',
};

export function toOpenFeatureCode(code: SwitchyardCode): ErrorCode {
  return TO_OPENFEATURE[code] ?? ErrorCode.GENERAL;
}

const OPENFEATURE_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Whether a vendor's code is one of OpenFeature's (an error's `code` may be anything: ECONNRESET). */
export function isOpenFeatureCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && OPENFEATURE_CODES.has(code);
}

export function fromOpenFeatureCode(code: string | undefined): SwitchyardCode {
  return (code && FROM_OPENFEATURE[code]) || 'SY_PROVIDER_ERROR';
}
