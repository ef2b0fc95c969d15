import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Interval, LackOfFit } from '../../fit/bootstrap.js';
import { writeBundle } from '../../results/bundle.js';
import { otherVersionsNote } from '../../results/table.js';
import {
  coverageFor,
  fitDataset,
  fitSweep,
  FIT_KINDS,
  memoryLines,
  isFolder,
  shapeLine,
  tableDataset,
  type AllocationGroup,
  type FitKind,
  type FitResult,
  type PowerlawGroup,
  type Trend,
  type TrendSlope,
} from '../../fit/index.js';
import { tokensText } from '../../fit/shape.js';
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

const f = (v: number | null | undefined, d: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'unbounded' : v.toFixed(d);
const iv = (i: Interval | null | undefined, d: number) => (i ? `[${f(i[0], d)}, ${f(i[1], d)}]` : '[no interval]');
const sig = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v));

/** Say when the curve misses the means by more than seed noise (the intervals were widened for it). */
const misfit = (l: LackOfFit | null) =>
  l && l.chi2PerDf > 1 ? ` (chi2/df ${l.chi2PerDf.toFixed(1)}: intervals widened ${l.inflation.toFixed(1)}x)` : '';

/**
 * One (budget, horizon) curve in words, led by the shape classifier's answer (fit/shape.ts). The
 * quadratic's vertex is called the optimum only where the shape is a U; elsewhere it is shown as
 * the parabola's, with rho* the best arm.
 */
function ushapeLine(r: FitResult, g: AllocationGroup): string {
  const unit = /loss/i.test(r.y) ? 'nats' : r.y;
  const perActive = g.tokensPerActive === null ? '' : ` (${sig(g.tokensPerActive, 3)} tokens/P_act)`;
  const lead = `${r.by ? `${r.by} ` : ''}${shapeLine(g)}`.replace(' tokens:', ` tokens${perActive}:`);
  const parts: string[] = [];
  if (g.rhoStar.source === 'vertex') {
    const xs = g.residuals.map((p) => p.x);
    const [lo, hi] = g.interval ?? [null, null];
    // an interval over the whole grid locates nothing: say so rather than quote the vertex as found
    const spans = (lo === null || lo <= Math.min(...xs)) && (hi === null || hi >= Math.max(...xs));
    const edge =
      g.edge === 'inside'
        ? ''
        : spans
          ? ' [vertex interval spans the sampled range: where the optimum lies is inconclusive]'
          : ' [vertex interval leaves the sampled range]';
    parts.push(`Akima ${f(g.vertexAkima, 2)}${edge}`);
  } else if (g.vertex === null) parts.push(`the parabola has no minimum (curvature ${sig(g.curvature, 3)})`);
  else
    parts.push(
      `parabola vertex ${f(g.vertex, 2)} ${iv(g.interval, 2)} not read as an optimum (${g.shape === 'U' ? 'outside the sampled range' : 'not a U'})`,
    );
  const than = g.reference.source === 'moe' ? 'pure MoE' : `the fit at ${r.x} = ${g.reference.x}`;
  parts.push(
    `${f(Math.abs(g.gain), 3)} ${iv(g.gainInterval, 3)} ${unit} ${g.gain >= 0 ? 'better' : 'worse'} than ${than}`,
  );
  parts.push(`R^2 ${f(g.r2, 2)}${misfit(g.lackOfFit)}${g.converged ? '' : `; NOT CONVERGED: ${g.reason}`}`);
  return `${lead}; ${parts.join('; ')}`;
}

/** A curve's trend across horizons, one line: the slopes per doubling of tokens. */
function trendLine(t: Trend): string {
  const p = t.points;
  const span = `${p.length} horizons, ${tokensText(p[0].tokens)}..${tokensText(p[p.length - 1].tokens)} tokens`;
  const tpa =
    p[0].tokensPerActive !== null
      ? ` (${sig(p[0].tokensPerActive, 2)}..${sig(p[p.length - 1].tokensPerActive!, 3)} per P_act)`
      : '';
  const s = (name: string, v: TrendSlope, d: number) =>
    `${name} ${v.slope === null ? 'n/a' : `${v.slope >= 0 ? '+' : ''}${v.slope.toFixed(d)}`} ${iv(v.interval, d)}`;
  return `trend ${t.budget} over ${span}${tpa}, per doubling: ${s('rho*', t.rhoStar, 3)}, ${s('dL0', t.dL0, 4)}, ${s('dL1', t.dL1, 4)} (${t.seeds} seeds, ${t.rhoStar.method})`;
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
  const lines = r.groups.map((g) =>
    r.kind === 'ushape' ? ushapeLine(r, g as AllocationGroup) : powerlawLine(r, g as PowerlawGroup),
  );
  for (const t of r.trends ?? []) lines.push(trendLine(t));
  if (r.memory) lines.push(...memoryLines(r.memory));
  // the memory fit's match (interpolated on observed means, never extrapolated) replaces the power
  // law's slot multiple, which extrapolates the fitted curve wherever it must
  const m = r.memory?.slotsToMatch.length ? null : r.slotMultiple;
  if (m) {
    const times =
      m.value === null
        ? 'never (its fitted loss does not fall)'
        : `with ${f(m.value, 2)}x ${iv(m.interval, 2)} the slots (${f(1 / m.value, 1)}x fewer)`;
    lines.push(
      `engram reaches overencoding's best loss (${f(m.overencodingLoss, 3)} at ${m.overencodingSlots} slots) ${times}${m.extrapolated ? ', extrapolated beyond its sampled slots' : ''}`,
    );
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
    .description(
      'fit the allocation curve per budget and horizon (walls, shape, rho*, vertex with a bootstrap interval) or the memory power law in slots',
    )
    .argument('<source>', 'a results folder (writes fits.json there), or a CSV / JSONL table (needs --kind)')
    .option('--kind <kind>', `what to fit: ${FIT_KINDS.join('|')} (a folder: every kind its trials allow)`)
    .option('--x <col>', 'x column (default rho or rhoActual for ushape, slots for powerlaw)')
    .option('--y <col>', 'y column (default valLoss, else loss)')
    .option('--by <col>', 'group column (default: none for a table; budget / variant for a folder)')
    .option('--resamples <n>', 'bootstrap resamples', '2000')
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--json', 'print the fit as JSON on stdout, one object per kind and line')
    .addHelpText(
      'after',
      '\nExamples:\n  engram-sweep fit results/ushape\n  engram-sweep fit points.csv --kind ushape --by budget --json\n',
    )
    .action(async (source: string, opts: Opts) => {
      if (opts.kind !== undefined && !FIT_KINDS.includes(opts.kind as FitKind)) {
        throw new InputError('--kind', `${show(opts.kind)} is not one of ${FIT_KINDS.join(', ')}`);
      }
      const fitOpts = { resamples: count('--resamples', opts.resamples, 1000), seed: count('--seed', opts.seed, 0) };
      const columns = { x: opts.x, y: opts.y, by: opts.by };
      let results: FitResult[];
      if (isFolder(source)) {
        // distinct n-grams seen, for the memory law (counted once, then cached in fits.json)
        const coverage =
          opts.kind === 'ushape' ? undefined : await coverageFor(source, (l) => process.stderr.write(`fit: ${l}\n`));
        results = fitSweep(source, {
          ...fitOpts,
          columns,
          coverage,
          kinds: opts.kind ? [opts.kind as FitKind] : undefined,
        });
        const note = otherVersionsNote(source);
        if (note) process.stderr.write(`fit: ${note}\n`);
        if (existsSync(join(source, 'sweep.json'))) writeBundle(source); // keep the notebooks' data current
      } else {
        if (!opts.kind)
          throw new InputError('--kind', `required for a table (${source}): one of ${FIT_KINDS.join(', ')}`);
        results = [fitDataset(tableDataset(source, opts.kind as FitKind, columns), fitOpts)];
      }
      const out = opts.json ? results.map((r) => JSON.stringify(r)).join('\n') : results.map(summary).join('\n');
      process.stdout.write(out + '\n');
    });
}
