/**
 * The module boundaries of STYLE.md, enforced on the import graph: who may import whom.
 * A violation names the file and the import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(new URL('../..', import.meta.url).pathname);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The module a file belongs to: src/<module>, src/<file>.ts, or adapters/<vendor>. */
function moduleOf(file: string): string {
  const rel = relative(root, file).split('/');
  if (rel[0] === 'adapters') return `adapters/${rel[1]}`;
  if (rel[0] === 'src') return rel.length === 2 ? rel[1]!.replace(/\.ts$/, '') : rel[1]!;
  return rel[0]!;
}

const ALLOWED: Record<string, readonly string[]> = {
  stats: [],
  errors: [],
  ports: [],
  config: ['ports', 'errors'],
  allocation: ['ports', 'config'], // config: the validated types it compiles plans from
  exposure: ['config', 'ports', 'errors'],
  guardrails: ['stats', 'config', 'ports'],
  analysis: ['stats', 'config', 'ports'],
  report: ['analysis'],
  client: [
    'config',
    'allocation',
    'exposure',
    'guardrails',
    'stats',
    'analysis',
    'ports',
    'errors',
    'adapters/memory',
    'adapters/launchdarkly',
    'adapters/optimizely',
    'adapters/split',
  ],
  cli: ['index'],
  index: ['client', 'config', 'allocation', 'errors', 'ports'],
  'adapters/memory': ['ports'],
  'adapters/common': ['ports', 'errors'],
  'adapters/launchdarkly': ['ports', 'adapters/common'],
  'adapters/optimizely': ['ports', 'adapters/common'],
  'adapters/split': ['ports', 'adapters/common'],
};

const imports = (file: string) =>
  [
    ...readFileSync(file, 'utf8').matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2]!);

describe('module boundaries (STYLE.md)', () => {
  const sources = [...files(join(root, 'src')), ...files(join(root, 'adapters'))];

  it.each(sources.map((f) => [relative(root, f), f] as const))('%s imports only what its module may', (_rel, file) => {
    const from = moduleOf(file);
    const allowed = ALLOWED[from];
    expect(allowed, `no boundary rule for module ${from}`).toBeDefined();
    for (const spec of imports(file)) {
      const target = moduleOf(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      if (target === from) continue;
      expect(allowed, `${relative(root, file)} imports ${spec} (module ${target})`).toContain(target);
      const isFolderModule = !['index', 'errors', 'ports'].includes(target);
      if (isFolderModule)
        expect(spec, `${relative(root, file)} reaches past ${target}'s index.ts`).toMatch(/\/index\.js$/);
    }
  });

  it('finds the imports it checks (the scan itself works)', () => {
    expect(imports(join(root, 'src/client/engine.ts'))).toContain('../allocation/index.js');
    expect(sources.length).toBeGreaterThan(30);
  });
});
