/** `switchyard validate [file]`: checks a config file and prints every problem located. */
import type { Command } from 'commander';
import { loadConfigFile } from '../../index.js';
import type { Out } from './shared.js';

export function registerValidate(program: Command, out: Out): void {
  program
    .command('validate')
    .description('check a config file; prints every problem with file:line:col')
    .argument('[file]', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      const config = loadConfigFile(file);
      const experiments = [...config.experiments.values()].map((e) => ({
        experiment: e.key,
        flag: e.flag,
        mode: e.allocation.mode,
        variants: e.variants.map((v) => v.key),
      }));
      if (opts.json)
        out(JSON.stringify({ valid: true, file, provider: config.featureFlags.provider, experiments }) + '\n');
      else
        out(
          `${file}: valid (provider ${config.featureFlags.provider}, ${experiments.length} experiment${experiments.length === 1 ? '' : 's'})\n`,
        );
    });
}
