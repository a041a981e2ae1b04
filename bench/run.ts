/**
 * `npm run bench`: runs every benchmark and writes BENCHMARKS.md with the method and the machine.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { benchEvaluation } from './evaluation.js';
import { benchStats } from './stats.js';
import { benchExposure } from './exposure.js';
import { benchVendors } from './vendors.js';
import { benchAnalysis } from './analysis.js';
import { benchSinks } from './sinks.js';
import { benchSinksSplice } from './sinks-splice.js';
import { benchGuardrails } from './guardrails.js';
import { benchFleet } from './fleet.js';
import { benchAdaptive } from './adaptive.js';
import { benchHotPath } from './hotpath.js';

const sections: string[] = [];
const only = process.argv[2];
const suites: [string, () => Promise<string>][] = [
  ['evaluation', benchEvaluation],
  ['stats', benchStats],
  ['exposure', benchExposure],
  ['vendors', benchVendors],
  ['analysis', benchAnalysis],
  ['sinks', benchSinks],
  ['sinks-splice', benchSinksSplice],
  ['guardrails', benchGuardrails],
  ['fleet', benchFleet],
  ['adaptive', benchAdaptive],
  ['hotpath', benchHotPath],
];
for (const [name, suite] of suites) {
  if (only && only !== name) continue;
  console.error(`running ${name}...`);
  sections.push(await suite());
}

const header = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString()}.`,
  `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
  '',
  'Method: contenders run interleaved in rounds on the same inputs; each figure is the median over rounds, and ratios are',
  'taken within each round against the baseline named in the table, then the median. The machine is shared and noisy:',
  'read the ratios, not the absolute numbers.',
  '',
].join('\n');
const text = header + '\n' + sections.join('\n');
if (!only) writeFileSync(new URL('../BENCHMARKS.md', import.meta.url), text);
console.log(text);
// Written: end the run. The sinks suite drives vendor SDKs directly, and one of them keeps a
// handle open after its close (the run then sat idle after printing until killed).
process.exit(0);
