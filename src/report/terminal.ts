/** The terminal summary: decision first, then the evidence a reader checks. */
import type { Analysis } from '../analysis/index.js';
import {
  DECISION_LABEL,
  adjustedTestText,
  armValue,
  dataQualityText,
  notAnalysedText,
  srmText,
  n,
  p,
  pct,
  terminalSafe as safe,
} from './format.js';

export function renderTerminal(a: Analysis): string {
  const out: string[] = [];
  out.push(`switchyard analysis (${a.engine}): ${dataQualityText(a.dataQuality, safe)}`);
  const notAnalysed = notAnalysedText(a, safe);
  if (notAnalysed) out.push(notAnalysed);
  for (const e of a.experiments) {
    out.push('');
    out.push(
      `== ${safe(e.experiment)}  [${DECISION_LABEL[e.decision.decision]}${e.decision.moreDays ? `: ${e.decision.moreDays} more days` : ''}]`,
    );
    out.push(`   ${safe(e.decision.reason)}`);
    out.push(
      `   ${e.period.start.slice(0, 10)} to ${e.period.end.slice(0, 10)} (${e.period.days.toFixed(1)} days); units ${Object.entries(
        e.units,
      )
        .map(([v, u]) => `${safe(v)} ${n(u)}`)
        .join(', ')}`,
    );
    out.push(
      `   ${srmText(e.srm)}${e.srm.mismatch ? '  MISMATCH' : ''}; excluded: ${e.excluded.multipleVariants} in several variants`,
    );
    for (const m of e.metrics)
      out.push(
        `   ${m.role.padEnd(9)} ${safe(m.metric)} ${m.statistic} ${safe(m.variant)}: ${armValue(m, m.control.value)} -> ${armValue(m, m.treatment.value)}, ${pct(m.relative)} [${pct(m.relativeCi?.lower)}, ${pct(m.relativeCi?.upper)}], p adj ${p(m.adjustedPValue)}${m.bayes ? `, P(beat) ${pct(m.bayes.probabilityBeatsControl, 1)}` : ''}${adjustedTestText(m, ', ')}`,
      );
    for (const g of e.guardrails) out.push(`   guardrail ${g.status.toUpperCase().padEnd(5)} ${safe(g.sentence)}`);
    if (e.power)
      out.push(
        `   power ${pct(e.power.power, 0)} for a ${pct(e.power.mde, 1)} MDE; ${n(e.power.neededPerArm)} per arm needed, ${n(e.power.smallestArm)} in the smallest arm`,
      );
    if (e.funnel?.frictionPoint)
      out.push(`   friction point: ${safe(e.funnel.frictionPoint.event)} (${safe(e.funnel.frictionPoint.variant)})`);
    for (const s of e.insights.slice(1)) out.push(`   - ${safe(s)}`);
    for (const f of e.followUps) out.push(`   next: ${safe(f.title)}`);
  }
  return out.join('\n');
}
