/** The JSON rendering: the Analysis object as it is (schema switchyard.analysis/1, README: Analysis). */
import type { Analysis } from '../analysis/index.js';

export function renderJson(a: Analysis): string {
  return JSON.stringify(a, null, 2);
}
