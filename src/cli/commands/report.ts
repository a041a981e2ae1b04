/** `switchyard report EXP --format html|md|json --out FILE`: the analysis as a file people read. */
import { Option, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderHtml, renderJson, renderMarkdown, terminalSafe } from '../../index.js';
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
      const analysis = await runAnalysis(experiment, opts, progress);
      const render = { html: renderHtml, md: renderMarkdown, json: renderJson }[opts.format];
      writeFileSync(opts.out, render(analysis));
      const e = analysis.experiments[0]!;
      out(
        `${e.decision.decision}: ${terminalSafe(e.decision.reason)}\nreport written to ${terminalSafe(resolve(opts.out))}\n`,
      );
    });
}
