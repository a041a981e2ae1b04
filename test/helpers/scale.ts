/**
 * The size of a test whose cost is its scale (a million ids, hundreds of thousands of keys):
 * `full` in `npm test`, `mutation` under mutation testing (vitest.mutate.config.ts sets
 * SWITCHYARD_MUTATION), where every mutant a test covers runs it again. The smaller size must
 * run the same lines of the module under test; the full size is what `npm test` holds the code to.
 */
export function atScale(full: number, mutation: number): number {
  return process.env['SWITCHYARD_MUTATION'] === '1' ? mutation : full;
}
