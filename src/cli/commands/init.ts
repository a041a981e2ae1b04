/**
 * `switchyard init [file]`: writes the annotated reference config (examples/switchyard.yaml,
 * shipped with the package) as a new file to start from. Its editor line points at the
 * package's config schema from where the file is. An existing file is never overwritten.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import { SwitchyardError } from '../../index.js';
import type { Out } from './shared.js';

export function registerInit(program: Command, out: Out): void {
  program
    .command('init')
    .description('write the annotated reference config to start from (never overwrites a file)')
    .argument('[file]', 'the config file to create', 'switchyard.yaml')
    .action((file: string) => {
      const root = dirname(createRequire(import.meta.url).resolve('switchyard/package.json'));
      const schema = relative(dirname(file), join(root, 'schema', 'switchyard.schema.json'))
        .split('\\')
        .join('/');
      const text = readFileSync(join(root, 'examples', 'switchyard.yaml'), 'utf8').replace(
        /^(# yaml-language-server: \$schema=).*$/m,
        (_line, head: string) => head + schema,
      );
      try {
        writeFileSync(file, text, { flag: 'wx' });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new SwitchyardError(
          'SY_INVALID_ARGUMENT',
          'cli',
          code === 'EEXIST'
            ? `${file} already exists; init writes a new config only`
            : `cannot write ${file}: ${(error as Error).message}`,
        );
      }
      out(`wrote ${file}: the annotated reference config; edit it, then: switchyard validate ${file}\n`);
    });
}
