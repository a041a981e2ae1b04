/** `switchyard validate [file]`: checks a config file and prints every problem located. */
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, SwitchyardError, type ValidatedConfig } from '../../index.js';
import type { Out } from './shared.js';

export function registerValidate(program: Command, out: Out): void {
  program
    .command('validate')
    .description('check a config file; prints every problem with file:line:col')
    .argument('[file]', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      let config: ValidatedConfig;
      try {
        config = loadConfigFile(file);
      } catch (error) {
        // With --json the problems go to stdout as JSON too (a CI job or an editor reads them);
        // the error itself still goes to stderr with exit 2, as without it.
        if (opts.json && error instanceof SwitchyardError) out(JSON.stringify(invalid(file, error)) + '\n');
        throw error;
      }
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

/** validate --json's answer for a config that was refused: each problem located (line 0: not located). */
function invalid(file: string, error: SwitchyardError) {
  const problems =
    error instanceof ConfigError
      ? error.problems.map((p) => ({ line: p.line, column: p.col, path: p.path, message: p.message }))
      : [{ line: 0, column: 0, path: '', message: error.message }];
  return { valid: false, file, code: error.code, problems };
}
