/**
 * The report as one HTML file (DESIGN: HTML report): vega, vega-lite and vega-embed inlined from
 * node_modules' build/*.min.js, each chart's spec in a JSON script tag, no network at all (a CSP
 * forbids it, so a regression shows as a console error, not a silent fetch). It opens from
 * file://. Layout: title, the headline finding, charts, then the table of trials.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRow } from '../results/table.js';
import { fmt, sortTrials } from './charts/common.js';
import type { ReportData } from './data.js';
import type { Summary } from './summary.js';

export interface ChartEntry {
  /** file-name-safe: plots/<name>.svg, element id chart-<name> */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

const require = createRequire(import.meta.url);

/** build/<file> of a package, found beside its main entry (the packages export nothing else). */
function buildFile(pkg: string, file: string): string {
  return join(dirname(require.resolve(pkg)), file);
}

/** The three libraries as inline script bodies, without source-map comments (nothing to fetch). */
export function libraryScripts(): string[] {
  const files = [
    buildFile('vega', 'vega.min.js'),
    buildFile('vega-lite', 'vega-lite.min.js'),
    buildFile('vega-embed', 'vega-embed.min.js'),
  ];
  return files.map((f) =>
    readFileSync(f, 'utf8')
      .replace(/^\/\/# sourceMappingURL=.*$/gm, '')
      .replace(/<\/script/gi, '<\\/script'),
  );
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside <script>: no "</script", no "<!--", no line separators JS rejects. */
export const scriptJson = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const params = (n: number) =>
  n >= 1e9 ? `${fmt(n / 1e9, 2)}B` : n >= 1e6 ? `${fmt(n / 1e6, 2)}M` : n >= 1e3 ? `${fmt(n / 1e3, 1)}k` : String(n);
const cell = (v: string | number | null, cls = '') =>
  `<td${cls ? ` class="${cls}"` : ''}>${v == null ? '' : escapeHtml(String(v))}</td>`;

export function trialTable(rows: TrialRow[]): string {
  const best = Math.min(...rows.filter((r) => r.status === 'ok' && r.valLoss != null).map((r) => r.valLoss!));
  const head = [
    'trial',
    'kind',
    'variant',
    'budget',
    'rho',
    'rho (actual)',
    'slots',
    'seed',
    'P_tot',
    'P_act',
    'status',
    'val loss',
    'val bits/byte',
    'tokens',
    'seconds',
  ];
  const body = sortTrials(rows).map((r) => {
    const cls = r.status !== 'ok' ? 'failed' : r.valLoss === best ? 'best' : '';
    const status = r.status === 'ok' ? 'ok' : `failed${r.reason ? ` (${r.reason})` : ''}`;
    const cells = [
      `<td><code>${escapeHtml(r.id)}</code></td>`,
      cell(r.kind),
      cell(r.variant),
      cell(r.budget),
      cell(r.rho == null ? null : fmt(r.rho, 3), 'n'),
      cell(r.rhoActual == null ? null : fmt(r.rhoActual, 3), 'n'),
      cell(r.slots, 'n'),
      cell(r.seed, 'n'),
      cell(params(r.pTot), 'n'),
      cell(params(r.pAct), 'n'),
      cell(status),
      cell(r.valLoss == null ? null : fmt(r.valLoss, 4), 'n'),
      cell(r.valBpb == null ? null : fmt(r.valBpb, 4), 'n'),
      cell(r.tokens, 'n'),
      cell(fmt(r.seconds, 1), 'n'),
    ];
    return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;margin:0}
.finding{background:#fff4ec;border-left:4px solid #d6604d;padding:12px 18px;margin:22px 0;border-radius:3px}
.headline{font-size:19px;margin:0}.finding ul{margin:8px 0 0;padding-left:20px;color:#444}
figure.chart{background:#fff;border:1px solid #e4e4e4;border-radius:4px;margin:0 0 20px;padding:12px;overflow-x:auto}
figure.chart>.vega.failed{color:#b00}
table{border-collapse:collapse;font-size:13px;background:#fff;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
th{background:#f0f0f0;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{color:#999}tr.best td{background:#fff4ec;font-weight:600}
.table-wrap{overflow-x:auto;border:1px solid #e4e4e4;border-radius:4px}
footer{color:#888;font-size:12px;margin-top:30px}
`;

// Each chart: parse its spec, embed as SVG; actions limited to exports (no editor link: it goes online).
const BOOT = `(function(){
var opts={actions:{export:true,source:false,compiled:false,editor:false},renderer:'svg'};
var els=document.querySelectorAll('[data-spec]');
var jobs=Array.prototype.map.call(els,function(el){
var spec=JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
return vegaEmbed(el,spec,opts).catch(function(e){el.textContent='This chart failed to render: '+e.message;el.classList.add('failed');console.error(e);throw e;});});
Promise.allSettled(jobs).then(function(r){document.body.setAttribute('data-rendered',r.filter(function(x){return x.status==='fulfilled';}).length+'/'+r.length);});
})();`;

const CSP =
  "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:";

/** The whole page. `libs` defaults to the inlined libraries (tests pass them in to stay quick). */
export function reportHtml(
  d: ReportData,
  charts: ChartEntry[],
  summary: Summary,
  libs: string[] = libraryScripts(),
): string {
  const ok = d.rows.filter((r) => r.status === 'ok').length;
  const other = d.otherVersions ? `${d.otherVersions} finished trial(s) of other versions of the spec left out` : '';
  const meta = [
    `report of ${d.date}`,
    `${d.rows.length} finished trials (${ok} ok)${other ? ' of the current spec' : ''}`,
    other,
    d.updated ? `sweep last updated ${d.updated.replace('T', ' ').slice(0, 16)}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const figures = charts.map(
    (c) =>
      `<figure class="chart" id="chart-${c.name}"><div class="vega" data-spec="spec-${c.name}" aria-label="${escapeHtml(c.title)}"></div></figure>`,
  );
  const specs = charts.map((c) => `<script type="application/json" id="spec-${c.name}">${scriptJson(c.spec)}</script>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(d.name)} · engram-sweep report</title>
<style>${CSS}</style></head>
<body><main>
<header><h1>Sweep <code>${escapeHtml(d.name)}</code></h1><p class="meta">${escapeHtml(meta)}</p></header>
<section class="finding"><p class="headline">${escapeHtml(summary.headline)}</p>${summary.details.length ? `<ul>${summary.details.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` : ''}</section>
<h2>Charts</h2>
${figures.join('\n')}
<h2>Trials</h2>
<div class="table-wrap">${trialTable(d.rows)}</div>
<footer>engram-sweep · ${escapeHtml(d.dir)} · charts by vega-lite, rendered in this page, no network</footer>
</main>
${specs.join('\n')}
${libs.map((js) => `<script>${js}</script>`).join('\n')}
<script>${BOOT}</script>
</body></html>
`;
}
