/**
 * The single-file report: the libraries inlined whole, nothing that points off the page, every
 * chart spec recoverable byte-for-byte from its script tag (even with "</script>" in the data),
 * the headline before the charts before the table, and a row per finished trial.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, libraryScripts, reportHtml, scriptJson } from '../../src/report/html.js';
import { buildReport, type BuiltReport } from '../../src/report/index.js';
import { makeFixture } from './fixture.js';

const require = createRequire(import.meta.url);
let dir: string;
let built: BuiltReport;
let html: string;

beforeAll(() => {
  dir = makeFixture();
  const sweep = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ ...sweep, name: 'fix<ture>' }));
  built = buildReport(dir, { now: new Date('2026-11-28T09:00:00Z') });
  html = reportHtml(built.data, built.charts, built.summary);
});
afterAll(() => rmSync(dirname(dir), { recursive: true, force: true }));

/** The page without the bodies of its script elements. */
const outsideScripts = (h: string) => h.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');

describe('self-contained', () => {
  it('inlines vega, vega-lite and vega-embed whole, without source-map comments', () => {
    for (const pkg of ['vega', 'vega-lite', 'vega-embed']) {
      const file = join(dirname(require.resolve(pkg)), `${pkg}.min.js`);
      const body = readFileSync(file, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/gm, '');
      expect(html.includes(body)).toBe(true);
    }
    expect(html).not.toMatch(/sourceMappingURL/);
    expect(libraryScripts()).toHaveLength(3);
  });

  it('loads nothing from elsewhere: no src, link or off-page href in the markup, and a CSP that forbids it', () => {
    const markup = outsideScripts(html);
    expect(markup).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(markup).not.toMatch(/<link\b/i);
    expect(markup).not.toMatch(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(markup).toContain(`content="default-src 'none';`);
    expect(html).toContain('editor:false');
  });

  it('every script element closes where it should: the spec data cannot break out', () => {
    const opens = html.match(/<script\b/g)!.length;
    expect(html.split('</script>').length - 1).toBe(opens);
    expect(opens).toBe(built.charts.length + 3 + 1);
    expect(html).not.toContain('</script><b>');
  });

  it('each chart has a container and a spec that parses back to the same object', () => {
    for (const c of built.charts) {
      expect(html).toContain(`<figure class="chart" id="chart-${c.name}"><div class="vega" data-spec="spec-${c.name}"`);
      const m = html.match(new RegExp(`<script type="application/json" id="spec-${c.name}">([\\s\\S]*?)</script>`))!;
      expect(JSON.parse(m[1])).toEqual(JSON.parse(JSON.stringify(c.spec)));
    }
    expect(JSON.stringify(built.charts.find((c) => c.name === 'gates')!.spec)).toContain('</script><b>x');
  });

  it('scriptJson keeps line separators and "<!--" from reaching the HTML parser', () => {
    const v = { s: '<!-- \u2028 \u2029 </SCRIPT>' };
    const out = scriptJson(v);
    expect(out).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual(v);
  });
});

describe('page content', () => {
  it('title with the sweep name (escaped) and the date', () => {
    expect(html).toContain('<title>fix&#60;ture&#62; · engram-sweep report</title>');
    expect(html).toContain('<h1>Sweep <code>fix&#60;ture&#62;</code></h1>');
    expect(html).toContain('report of 2026-11-28');
    expect(html).toContain('sweep last updated 2026-11-28 12:34');
  });

  it('headline first, then the charts, then the trial table', () => {
    const headline = html.indexOf(`<p class="headline">${escapeHtml(built.summary.headline)}</p>`);
    const firstChart = html.indexOf('<figure class="chart"');
    const table = html.indexOf('<table>');
    expect(headline).toBeGreaterThan(0);
    expect(headline).toBeLessThan(firstChart);
    expect(firstChart).toBeLessThan(table);
    expect(built.summary.headline).toMatch(/^Budget large: no right wall \(/);
  });

  it('one table row per finished trial; the failed one marked with its reason, the best one highlighted', () => {
    const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
    const rows = body.match(/<tr\b[^>]*>/g)!;
    expect(rows.length).toBe(built.data.rows.length);
    expect(body.match(/<tr class="failed">/g)!.length).toBe(1);
    expect(body).toContain('failed (diverged)');
    expect(body.match(/<tr class="best">/g)!.length).toBe(1);
    expect(body).toMatch(
      /<tr class="best"><td><code>t[0-9a-f]{16}<\/code><\/td><td>allocation<\/td><td>engram<\/td><td>large<\/td><td class="n">0\.750<\/td>/,
    );
  });
});
