/**
 * The HTML report in headless Chromium (Debian's chromium through playwright-core): it
 * renders offline with no console errors, its charts are drawn, and hostile names in the
 * data (script tags, event handlers) are shown as text, never run. Markdown and terminal
 * renderings escape the same names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore, type Analysis } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { renderHtml, renderJson, renderMarkdown, renderTerminal } from '../../src/report/index.js';
import { generate } from '../helpers/analysis-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-report-'));
const XSS_VARIANT = `treat<img src=x onerror="window.__pwned=1;alert(1)">`;
const XSS_EVENT = `pay</script><script>window.__pwned=2</script>`;
const XSS_COUNTRY = `<svg onload=window.__pwned=3>`;
export const SCREENSHOT = join(tmpdir(), 'switchyard-report.png');
let analysis: Analysis;

beforeAll(async () => {
  const data = join(dir, 'data');
  generate(data, {
    experiment: 'checkout <b>redesign</b>',
    units: 6000,
    days: 10,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.34 },
    variantNames: { treatment: XSS_VARIANT },
    eventNames: { pay: XSS_EVENT },
    segment: { attribute: 'country', values: ['DE', XSS_COUNTRY] },
    funnel: { steps: ['cart', 'pay'], rates: { control: [0.6, 0.7], treatment: [0.6, 0.5] } },
  });
  const store = await openDuckDbStore(data);
  try {
    analysis = await analyze(store, {
      config: validateConfigObject({ analysis: { segments: ['country'] } }),
      metric: 'purchase',
      funnel: ['cart', XSS_EVENT],
      now: Date.parse('2026-12-12T00:00:00Z'),
    });
  } finally {
    await store.close();
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('report renderings', () => {
  it('HTML renders in headless Chromium with charts, no console errors, no script from the data', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(analysis));
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'sy-chromium-')), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1200, height: 900 },
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      const dialogs: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(file).href);
      // Browser-side code as strings: the test compiles without the DOM library.
      await page.waitForFunction("document.body.getAttribute('data-charts') !== null");
      expect(errors).toEqual([]);
      expect(dialogs).toEqual([]);
      expect(requests).toEqual([]);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(Number(await page.getAttribute('body', 'data-charts'))).toBe(3);
      expect(await page.locator('canvas').count()).toBe(3);
      // Drawn: a canvas with pixels that are not all blank.
      const inked = await page.evaluate(`(() => {
        const c = document.querySelector('canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      })()`);
      expect(Number(inked)).toBeGreaterThan(1000);
      // The hostile names are on the page as text.
      const text = await page.textContent('body');
      expect(text).toContain(XSS_VARIANT);
      expect(text).toContain(XSS_COUNTRY);
      expect(text).toContain('checkout <b>redesign</b>');
      expect(await page.locator('.decision .badge').first().textContent()).toMatch(/SHIP|KEEP RUNNING|STOP/);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await context.close();
    }
  }, 90_000);

  it('Markdown escapes HTML and table pipes in names; terminal and JSON keep them as data', () => {
    const full = renderMarkdown(analysis);
    // Fenced YAML (follow-up configs) is literal text to Markdown; everything else must be escaped.
    const md = full.replace(/```yaml[\s\S]*?```/g, '');
    expect(full.length - md.length).toBeGreaterThan(0);
    expect(md).not.toContain('<img');
    expect(md).not.toContain('<script');
    expect(md).toContain('treat&lt;img src=x onerror="window.\\_\\_pwned=1;alert(1)"&gt;');
    expect(md).toMatch(/Decision: (SHIP|KEEP RUNNING|STOP|DON'T SHIP)/);
    expect(renderTerminal(analysis)).toContain(XSS_VARIANT);
    const json = JSON.parse(renderJson(analysis)) as Analysis;
    expect(json.schema).toBe('switchyard.analysis/1');
    expect(json.experiments[0]!.variants).toEqual(['control', XSS_VARIANT]);
  });
});
