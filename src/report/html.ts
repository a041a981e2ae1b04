/**
 * One self-contained HTML file: Chart.js's UMD build inlined (no CDN, works offline), the
 * data as JSON in a <script type="application/json"> with every `<` escaped, and every
 * name from the data HTML-escaped where it is written as markup. Charts draw on canvases,
 * which never interpret text as HTML.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Analysis, ExperimentAnalysis } from '../analysis/index.js';
import {
  DECISION_LABEL,
  adjustedTestText,
  armValue,
  dataQualityText,
  notAnalysedText,
  srmText,
  bidiSafe,
  n,
  p,
  pct,
} from './format.js';

export function escapeHtml(text: string): string {
  return bidiSafe(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside a script element: no `<` (so no `</script>` or `<!--`), no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

let chartJs: string | undefined;
function chartLibrary(): string {
  // The package exports no subpath for its UMD build; it sits beside the CommonJS entry.
  chartJs ??= readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
    'utf8',
  );
  return chartJs.replace(/<\/script/gi, '<\\/script');
}

const COLOURS = { ship: '#1a7f37', dont_ship: '#6e7781', keep_running: '#9a6700', stop: '#cf222e' } as const;
const h = escapeHtml;

function section(e: ExperimentAnalysis, i: number): string {
  const d = e.decision;
  const metrics = e.metrics
    .map(
      (m) =>
        `<tr><td>${m.role}</td><td>${h(m.metric)}</td><td>${m.statistic}</td><td>${h(m.variant)}</td><td>${armValue(m, m.control.value)}</td><td>${armValue(m, m.treatment.value)}</td><td>${pct(m.relative)}</td><td>${pct(m.relativeCi?.lower)} to ${pct(m.relativeCi?.upper)}</td><td>${p(m.adjustedPValue)}${adjustedTestText(m, '; ')}</td><td>${m.bayes ? pct(m.bayes.probabilityBeatsControl, 1) : ''}</td></tr>`,
    )
    .join('');
  const segments = e.segments
    .map(
      (s) =>
        `<tr${s.differs ? ' class="differs"' : ''}><td>${h(s.attribute)}</td><td>${h(s.value)}</td><td>${h(s.variant)}</td><td>${n(s.control.n)} / ${n(s.treatment.n)}</td><td>${pct(s.control.value)}</td><td>${pct(s.treatment.value)}</td><td>${pct(s.relative)}</td><td>${p(s.adjustedPValue)}</td><td>${s.differs ? 'differs' : ''}</td></tr>`,
    )
    .join('');
  const paths = Object.entries(e.behaviour.paths)
    .map(
      ([v, list]) =>
        `<li><b>${h(v)}</b>: ${list.map((x) => `${x.path.map(h).join(' → ')} (${pct(x.share, 1)})`).join('; ')}</li>`,
    )
    .join('');
  return `<section class="experiment" id="exp-${i}">
<h2>${h(e.experiment)}</h2>
<div class="decision" style="border-color:${COLOURS[d.decision]}"><span class="badge" style="background:${COLOURS[d.decision]}">${DECISION_LABEL[d.decision]}${d.moreDays ? ` · ${d.moreDays} more days` : ''}</span>
<p class="reason">${h(d.reason)}</p><ul>${d.evidence.map((x) => `<li>${h(x)}</li>`).join('')}</ul></div>
${e.hypothesis ? `<p>Hypothesis: ${h(e.hypothesis)}${e.owner ? ` · owner ${h(e.owner)}` : ''}</p>` : ''}
<p>${h(e.period.start.slice(0, 10))} to ${h(e.period.end.slice(0, 10))} (${e.period.days.toFixed(1)} days) · units ${Object.entries(
    e.units,
  )
    .map(([v, u]) => `${h(v)} ${n(u)}`)
    .join(
      ', ',
    )} · ${srmText(e.srm)}${e.srm.mismatch ? ' <b>mismatch</b>' : ''} · ${e.excluded.multipleVariants} units in several variants excluded</p>
<div class="charts">
<figure><figcaption>Effects (relative, with intervals)</figcaption><canvas id="forest-${i}" data-chart="forest"></canvas></figure>
<figure><figcaption>Cumulative ${h(e.primaryMetric ?? '')} conversion by day</figcaption><canvas id="cumulative-${i}" data-chart="cumulative"></canvas></figure>
${e.funnel ? `<figure><figcaption>Funnel${e.funnel.frictionPoint ? ` · friction point: ${h(e.funnel.frictionPoint.event)}` : ''}</figcaption><canvas id="funnel-${i}" data-chart="funnel"></canvas></figure>` : ''}
</div>
<h3>Metrics</h3><table><thead><tr><th>role</th><th>metric</th><th>statistic</th><th>variant</th><th>control</th><th>treatment</th><th>relative</th><th>CI</th><th>p (adj.)</th><th>P(beat)</th></tr></thead><tbody>${metrics}</tbody></table>
${e.guardrails.length ? `<h3>Guardrails</h3><ul>${e.guardrails.map((g) => `<li class="${g.status}">${h(g.sentence)}</li>`).join('')}</ul>` : ''}
${segments ? `<h3>Cohorts and segments</h3><table class="cohorts"><thead><tr><th>segment</th><th>value</th><th>variant</th><th>units</th><th>control</th><th>treatment</th><th>relative</th><th>p (adj.)</th><th></th></tr></thead><tbody>${segments}</tbody></table>` : ''}
<h3>Behaviour</h3><ul>${e.behaviour.sentences.map((s) => `<li>${h(s)}</li>`).join('') || '<li>No significant differences in events per unit.</li>'}</ul>
${paths ? `<p>Most common paths after exposure:</p><ul>${paths}</ul>` : ''}
<h3>Insights</h3><ul>${e.insights.map((s) => `<li>${h(s)}</li>`).join('')}</ul>
${e.followUps.length ? `<h3>Follow-up experiments</h3>${e.followUps.map((f) => `<h4>${h(f.title)}</h4><p>${h(f.why)}</p><pre>${h(f.config)}</pre>`).join('')}` : ''}
</section>`;
}

/** Chart data only: labels and numbers, no markup. */
function chartData(a: Analysis) {
  return a.experiments.map((e) => ({
    forest: e.metrics
      .filter((m) => m.relativeCi)
      .map((m) => ({
        label: `${m.metric} · ${m.statistic} · ${m.variant}`,
        lift: m.relative,
        lower: m.relativeCi!.lower,
        upper: m.relativeCi!.upper,
      })),
    cumulative: e.variants.map((v) => ({
      variant: v,
      points: e.daily.filter((d) => d.variant === v).map((d) => ({ x: d.day, y: d.cumulativeRate })),
    })),
    funnel: e.funnel
      ? {
          steps: e.funnel.steps.map((s) => s.event),
          variants: e.variants.map((v) => ({ variant: v, reached: e.funnel!.steps.map((s) => s.reached[v] ?? 0) })),
        }
      : null,
  }));
}

const DRAW = `
(function () {
  var data = JSON.parse(document.getElementById('sy-data').textContent);
  var palette = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#9a6700', '#bf3989'];
  Chart.defaults.animation = false;
  data.forEach(function (d, i) {
    var forest = document.getElementById('forest-' + i);
    if (forest) new Chart(forest, {
      type: 'bar',
      data: { labels: d.forest.map(function (f) { return f.label; }),
        datasets: [{ label: 'relative effect interval', data: d.forest.map(function (f) { return [f.lower * 100, f.upper * 100]; }), backgroundColor: 'rgba(9,105,218,0.35)' },
                   { type: 'scatter', label: 'estimate', data: d.forest.map(function (f, k) { return { x: f.lift * 100, y: k }; }), backgroundColor: '#0969da' }] },
      options: { indexAxis: 'y', responsive: true, scales: { x: { title: { display: true, text: 'relative change, %' } } } }
    });
    var cum = document.getElementById('cumulative-' + i);
    if (cum) new Chart(cum, {
      type: 'line',
      data: { datasets: d.cumulative.map(function (c, k) { return { label: c.variant, data: c.points.map(function (p) { return { x: p.x, y: p.y * 100 }; }), borderColor: palette[k % palette.length], fill: false }; }) },
      options: { responsive: true, parsing: true, scales: { x: { type: 'category', labels: Array.from(new Set([].concat.apply([], d.cumulative.map(function (c) { return c.points.map(function (p) { return p.x; }); })))).sort() }, y: { title: { display: true, text: 'cumulative conversion, %' } } } }
    });
    var funnel = document.getElementById('funnel-' + i);
    if (funnel && d.funnel) new Chart(funnel, {
      type: 'bar',
      data: { labels: d.funnel.steps, datasets: d.funnel.variants.map(function (v, k) { return { label: v.variant, data: v.reached, backgroundColor: palette[k % palette.length] }; }) },
      options: { responsive: true }
    });
  });
  document.body.setAttribute('data-charts', String(Chart.instances ? Object.keys(Chart.instances).length : 0));
})();`;

export function renderHtml(a: Analysis): string {
  const notAnalysed = notAnalysedText(a, h);
  const title =
    a.experiments.length === 1 ? `${a.experiments[0]!.experiment} · switchyard analysis` : 'switchyard analysis';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${h(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
.decision{border-left:6px solid;padding:8px 16px;margin:12px 0;background:#f6f8fa}.badge{color:#fff;font-weight:700;padding:2px 10px;border-radius:12px}
.reason{font-size:16px;font-weight:600}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}table{border-collapse:collapse;width:100%;margin:8px 0}
td,th{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left}tr.differs{background:#fff8c5}li.breach{color:#cf222e}li.near{color:#9a6700}
pre{background:#f6f8fa;padding:8px;overflow:auto}
</style></head><body>
<h1>Experiment analysis</h1>
<p>Generated ${h(a.generatedAt)} on ${a.engine} · ${dataQualityText(a.dataQuality, h)} · corrections: ${h(a.settings.corrections)} · attribution window ${a.settings.attributionWindowSeconds / 86400} days</p>
${notAnalysed ? `<p>${notAnalysed}</p>` : ''}
${a.experiments.map(section).join('\n')}
<script type="application/json" id="sy-data">${scriptJson(chartData(a))}</script>
<script>${chartLibrary()}</script>
<script>${DRAW}</script>
</body></html>
`;
}
