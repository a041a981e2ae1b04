/** The Markdown report: the same sections as the HTML one, tables instead of charts. */
import type { Analysis } from '../analysis/index.js';
import {
  DECISION_LABEL,
  adjustedTestText,
  armValue,
  dataQualityText,
  notAnalysedText,
  bidiSafe,
  srmText,
  n,
  p,
  pct,
} from './format.js';

/**
 * Markdown renders inline HTML and splits tables on pipes: escape both, and line breaks.
 * One pass puts one backslash before each special character, the backslash and the pipe
 * included (a pipe escaped first had its backslash escaped again: `a\\|b`, a broken cell).
 */
export function md(text: string): string {
  // The bidirectional controls last: their escape's backslash is text, not one more to escape.
  return bidiSafe(
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/([\\`*_[\]#|])/g, '\\$1')
      .replace(/[\r\n]+/g, ' '),
  );
}

export function renderMarkdown(a: Analysis): string {
  const out: string[] = ['# Experiment analysis', ''];
  out.push(`Engine ${a.engine}; ${dataQualityText(a.dataQuality, md)}. Corrections: ${a.settings.corrections}.`, '');
  const notAnalysed = notAnalysedText(a, md);
  if (notAnalysed) out.push(notAnalysed, '');
  for (const e of a.experiments) {
    out.push(`## ${md(e.experiment)}`, '');
    out.push(
      `**Decision: ${DECISION_LABEL[e.decision.decision]}**${e.decision.moreDays ? ` (${e.decision.moreDays} more days)` : ''} — ${md(e.decision.reason)}`,
      '',
    );
    for (const ev of e.decision.evidence) out.push(`- ${md(ev)}`);
    out.push('');
    if (e.hypothesis) out.push(`Hypothesis: ${md(e.hypothesis)}${e.owner ? ` (owner ${md(e.owner)})` : ''}`, '');
    out.push(
      '| variant | units |',
      '| --- | ---: |',
      ...Object.entries(e.units).map(([v, u]) => `| ${md(v)} | ${n(u)} |`),
      '',
    );
    out.push(
      `${srmText(e.srm)}${e.srm.mismatch ? ' (**mismatch**)' : ''}; ${e.excluded.multipleVariants} units in several variants excluded.`,
      '',
    );
    out.push(
      '### Metrics',
      '',
      '| role | metric | statistic | variant | control | treatment | relative | CI | p (adj.) |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: |',
    );
    for (const m of e.metrics)
      out.push(
        `| ${m.role} | ${md(m.metric)} | ${m.statistic} | ${md(m.variant)} | ${armValue(m, m.control.value)} | ${armValue(m, m.treatment.value)} | ${pct(m.relative)} | ${pct(m.relativeCi?.lower)} to ${pct(m.relativeCi?.upper)} | ${p(m.adjustedPValue)}${adjustedTestText(m, '; ')} |`,
      );
    out.push('');
    if (e.guardrails.length > 0) {
      out.push('### Guardrails', '');
      for (const g of e.guardrails) out.push(`- **${g.status}**: ${md(g.sentence)}`);
      out.push('');
    }
    if (e.funnel) {
      const vs = Object.keys(e.funnel.steps[0]?.reached ?? {});
      out.push(
        '### Funnel',
        '',
        `| step | ${vs.map(md).join(' | ')} |`,
        `| --- | ${vs.map(() => '---:').join(' | ')} |`,
      );
      for (const s of e.funnel.steps)
        out.push(
          `| ${md(s.event)} | ${vs.map((v) => `${n(s.reached[v] ?? 0)} (${pct(s.conversion[v], 1)})`).join(' | ')} |`,
        );
      out.push(
        '',
        e.funnel.frictionPoint
          ? `Friction point: **${md(e.funnel.frictionPoint.event)}** for ${md(e.funnel.frictionPoint.variant)}.`
          : 'No step differs significantly.',
        '',
      );
    }
    if (e.segments.length > 0) {
      out.push(
        '### Cohorts and segments',
        '',
        '| segment | value | variant | control | treatment | relative | p (adj.) | differs |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
      );
      for (const s of e.segments)
        out.push(
          `| ${md(s.attribute)} | ${md(s.value)} | ${md(s.variant)} | ${pct(s.control.value)} | ${pct(s.treatment.value)} | ${pct(s.relative)} | ${p(s.adjustedPValue)} | ${s.differs ? '**yes**' : 'no'} |`,
        );
      out.push('');
    }
    out.push('### Insights', '', ...e.insights.map((s) => `- ${md(s)}`), '');
    if (e.followUps.length > 0) {
      out.push('### Follow-up experiments', '');
      for (const f of e.followUps)
        out.push(
          `#### ${md(f.title)}`,
          '',
          md(f.why),
          '',
          '```yaml',
          f.config.replace(/```/g, '` ` `').trimEnd(),
          '```',
          '',
        );
    }
  }
  return out.join('\n');
}
