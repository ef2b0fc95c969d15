/**
 * `writeReport`: a results folder -> results/<sweep>/report.html and, with png, plots/<chart>.svg
 * and .png. Everything is read, built and rendered in memory first; files are written (atomically)
 * only when all of it succeeded, so bad input leaves the folder as it was.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../util/atomic.js';
import { gatesChart } from './charts/gates.js';
import { horizonCurvesChart } from './charts/horizons.js';
import { loadChart } from './charts/load.js';
import { powerlawChart } from './charts/powerlaw.js';
import { trainingChart } from './charts/training.js';
import { rhoStarChart, wallsChart } from './charts/trends.js';
import { ushapeChart } from './charts/ushape.js';
import { loadReportData, type ReportData } from './data.js';
import { reportHtml, type ChartEntry } from './html.js';
import { renderSvg, svgToPng } from './render.js';
import { summarize, type Summary } from './summary.js';

export { loadReportData, type ReportData } from './data.js';
export { renderSvg, svgToPng, compileSpec } from './render.js';
export { summarize, type Summary } from './summary.js';
export type { ChartEntry } from './html.js';

/** The charts, in report order; each returns null when the sweep has nothing for it. */
export const CHARTS: { name: string; title: string; build: (d: ReportData) => TopLevelSpec | null }[] = [
  { name: 'ushape', title: 'Validation loss vs rho', build: ushapeChart },
  { name: 'horizons', title: 'Validation loss vs rho at each training horizon', build: horizonCurvesChart },
  { name: 'rhostar', title: 'rho* vs training tokens', build: rhoStarChart },
  { name: 'walls', title: 'The walls vs training tokens', build: wallsChart },
  { name: 'powerlaw', title: 'Validation loss vs memory slots', build: powerlawChart },
  { name: 'gates', title: 'Engram gate on validation text', build: gatesChart },
  { name: 'training', title: 'Training curves', build: trainingChart },
  { name: 'load', title: 'Expert load balance', build: loadChart },
];

export interface ReportOptions {
  /** also write plots/<chart>.svg and .png */
  png?: boolean;
  /** the report's date (tests fix it) */
  now?: Date;
}

export interface BuiltReport {
  data: ReportData;
  charts: ChartEntry[];
  summary: Summary;
}

/** Read the folder and build every applicable chart spec and the summary (no files written). */
export function buildReport(sweepDir: string, opts: ReportOptions = {}): BuiltReport {
  const data = loadReportData(sweepDir, opts.now);
  const charts: ChartEntry[] = [];
  for (const c of CHARTS) {
    const spec = c.build(data);
    if (spec) charts.push({ name: c.name, title: c.title, spec });
  }
  return { data, charts, summary: summarize(data) };
}

export interface WrittenReport {
  /** path of report.html */
  html: string;
  /** names of the charts in it */
  charts: string[];
  /** every file written, report.html first */
  files: string[];
}

/** Write results/<sweep>/report.html (and plots/ with png). Throws InputError on bad input, writing nothing. */
export async function writeReport(sweepDir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
  const r = buildReport(sweepDir, opts);
  const out: [string, string | Buffer][] = [[join(sweepDir, 'report.html'), reportHtml(r.data, r.charts, r.summary)]];
  if (opts.png) {
    for (const c of r.charts) {
      const svg = await renderSvg(c.spec);
      out.push(
        [join(sweepDir, 'plots', `${c.name}.svg`), svg],
        [join(sweepDir, 'plots', `${c.name}.png`), svgToPng(svg)],
      );
    }
  }
  for (const [file, content] of out) writeFileAtomic(file, content);
  return { html: out[0][0], charts: r.charts.map((c) => c.name), files: out.map(([f]) => f) };
}
