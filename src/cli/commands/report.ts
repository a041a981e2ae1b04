/** `switchyard report EXP --format html|md|json --out FILE`: the analysis as a file people read. */
import { Option, type Command } from 'commander';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderHtml, renderJson, renderMarkdown, SwitchyardError, terminalSafe } from '../../index.js';
import { runAnalysis, sourceOptions, type ProgressStream, type SourceOptions } from './analysis-source.js';
import type { Out } from './shared.js';

export function registerReport(program: Command, out: Out, progress?: ProgressStream): void {
  sourceOptions(
    program
      .command('report')
      .argument('<experiment>', 'the experiment to report on')
      .description('write the analysis as a self-contained HTML page, Markdown or JSON'),
  )
    .addOption(new Option('--format <format>', 'html, md or json').choices(['html', 'md', 'json']).default('html'))
    .requiredOption('--out <file>', 'where to write the report')
    .action(async (experiment: string, opts: SourceOptions & { format: 'html' | 'md' | 'json'; out: string }) => {
      // Checked before the analysis, which appends to the learning log: a report that cannot be
      // written would otherwise leave a logged decision nobody saw.
      checkOut(opts.out);
      const analysis = await runAnalysis(experiment, opts, progress);
      const render = { html: renderHtml, md: renderMarkdown, json: renderJson }[opts.format];
      try {
        writeFileSync(opts.out, render(analysis));
      } catch (cause) {
        throw new SwitchyardError(
          'SY_INVALID_ARGUMENT',
          'cli',
          `cannot write --out ${opts.out}: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
      const e = analysis.experiments[0]!;
      out(
        `${e.decision.decision}: ${terminalSafe(e.decision.reason)}\nreport written to ${terminalSafe(resolve(opts.out))}\n`,
      );
    });
}

/** --out names a file that can be written: not a directory, in a directory that exists. */
function checkOut(file: string): void {
  const bad = (why: string) => new SwitchyardError('SY_INVALID_ARGUMENT', 'cli', `--out ${file} ${why}`);
  if (existsSync(file) && statSync(file).isDirectory()) throw bad('is a directory; give a file name');
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bad(`is in ${dir}, which is not a directory that exists`);
}
