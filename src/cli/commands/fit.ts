import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Interval, LackOfFit } from '../../fit/bootstrap.js';
import { writeBundle } from '../../results/bundle.js';
import { fitDataset, fitSweep, FIT_KINDS, isFolder, tableDataset, type FitKind, type FitResult, type PowerlawGroup, type UshapeGroup } from '../../fit/index.js';
import { InputError, show } from '../errors.js';

interface Opts {
  kind?: string;
  x?: string;
  y?: string;
  by?: string;
  json?: boolean;
  resamples: string;
  seed: string;
}

const f = (v: number | null | undefined, d: number) => (v === null || v === undefined || !Number.isFinite(v) ? 'unbounded' : v.toFixed(d));
const iv = (i: Interval | null | undefined, d: number) => (i ? `[${f(i[0], d)}, ${f(i[1], d)}]` : '[no interval]');
const sig = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v));

/** Say when the curve misses the means by more than seed noise (the intervals were widened for it). */
const misfit = (l: LackOfFit | null) => (l && l.chi2PerDf > 1 ? ` (chi2/df ${l.chi2PerDf.toFixed(1)}: intervals widened ${l.inflation.toFixed(1)}x)` : '');

function ushapeLine(r: FitResult, g: UshapeGroup): string {
  const unit = /loss/i.test(r.y) ? 'nats' : r.y;
  const who = r.by ? `${r.by} ${g.key}` : g.key;
  const opt = g.vertex === null ? `no minimum (curvature ${sig(g.curvature, 3)} <= 0)` : `optimum ${r.x} = ${f(g.vertex, 2)} ${iv(g.interval, 2)} (quadratic)`;
  const edge = g.edge === 'inside' ? '' : g.edge === 'edge' ? ' [interval leaves the sampled range]' : ' [outside the sampled range]';
  const than = g.reference.source === 'moe' ? 'pure MoE' : `the fit at ${r.x} = ${g.reference.x}`;
  const gain = `${f(Math.abs(g.gain), 3)} ${iv(g.gainInterval, 3)} ${unit} ${g.gain >= 0 ? 'better' : 'worse'} than ${than}`;
  const p = g.pCurvaturePositive === null ? 'no bootstrap' : `curvature > 0 with p = ${g.pCurvaturePositive.toFixed(2)}`;
  const bad = g.converged ? '' : `; NOT CONVERGED: ${g.reason}`;
  return `${who}: ${opt}${edge}, ${f(g.vertexAkima, 2)} (Akima); ${gain}; ${p}; R^2 ${f(g.r2, 2)}${misfit(g.lackOfFit)}${bad}`;
}

function powerlawLine(r: FitResult, g: PowerlawGroup): string {
  const unit = /loss/i.test(r.y) ? 'nats' : r.y;
  const who = r.by ? `${r.by} ${g.key}` : g.key;
  const E = g.E === null ? `E not determined (${g.eReason})` : `E = ${f(g.E, 3)} ${iv(g.intervals.E, 3)}`;
  const bad = g.converged ? '' : `; NOT CONVERGED: ${g.reason}`;
  return (
    `${who}: L = ${sig(g.A)} M^-${sig(g.alpha, 3)} (alpha ${iv(g.intervals.alpha, 4)}); ` +
    `${f(g.slopePerDecade, 4)} ${iv(g.intervals.slopePerDecade, 4)} ${unit} per decade of ${r.x}; ${E}; R^2 ${f(g.r2, 2)}${misfit(g.lackOfFit)}${bad}`
  );
}

/** The fit in words, one line per group. */
export function summary(r: FitResult): string {
  const lines = r.groups.map((g) => (r.kind === 'ushape' ? ushapeLine(r, g as UshapeGroup) : powerlawLine(r, g as PowerlawGroup)));
  const m = r.slotMultiple;
  if (m) {
    const times = m.value === null ? 'never (its fitted loss does not fall)' : `with ${f(m.value, 2)}x ${iv(m.interval, 2)} the slots (${f(1 / m.value, 1)}x fewer)`;
    lines.push(`engram reaches overencoding's best loss (${f(m.overencodingLoss, 3)} at ${m.overencodingSlots} slots) ${times}${m.extrapolated ? ', extrapolated beyond its sampled slots' : ''}`);
  }
  return lines.join('\n');
}

const count = (flag: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InputError(flag, `${show(v)} is not an integer >= ${min}`);
  return n;
};

export function register(program: Command): void {
  program
    .command('fit')
    .description('fit the U-shape per budget (vertex rho* with a bootstrap interval) or the memory power law in slots')
    .argument('<source>', 'a results folder (writes fits.json there), or a CSV / JSONL table (needs --kind)')
    .option('--kind <kind>', `what to fit: ${FIT_KINDS.join('|')} (a folder: every kind its trials allow)`)
    .option('--x <col>', 'x column (default rho or rhoActual for ushape, slots for powerlaw)')
    .option('--y <col>', 'y column (default valLoss, else loss)')
    .option('--by <col>', 'group column (default: none for a table; budget / variant for a folder)')
    .option('--resamples <n>', 'bootstrap resamples', '2000')
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--json', 'print the fit as JSON on stdout, one object per kind and line')
    .addHelpText('after', '\nExamples:\n  engram-sweep fit results/ushape\n  engram-sweep fit points.csv --kind ushape --by budget --json\n')
    .action((source: string, opts: Opts) => {
      if (opts.kind !== undefined && !FIT_KINDS.includes(opts.kind as FitKind)) {
        throw new InputError('--kind', `${show(opts.kind)} is not one of ${FIT_KINDS.join(', ')}`);
      }
      const fitOpts = { resamples: count('--resamples', opts.resamples, 1000), seed: count('--seed', opts.seed, 0) };
      const columns = { x: opts.x, y: opts.y, by: opts.by };
      let results: FitResult[];
      if (isFolder(source)) {
        results = fitSweep(source, { ...fitOpts, columns, kinds: opts.kind ? [opts.kind as FitKind] : undefined });
        if (existsSync(join(source, 'sweep.json'))) writeBundle(source); // keep the notebooks' data current
      } else {
        if (!opts.kind) throw new InputError('--kind', `required for a table (${source}): one of ${FIT_KINDS.join(', ')}`);
        results = [fitDataset(tableDataset(source, opts.kind as FitKind, columns), fitOpts)];
      }
      const out = opts.json ? results.map((r) => JSON.stringify(r)).join('\n') : results.map(summary).join('\n');
      process.stdout.write(out + '\n');
    });
}
