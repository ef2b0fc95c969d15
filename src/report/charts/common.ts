/**
 * What every chart shares: the schema URL (a name only; nothing is fetched), the look, and how a
 * trial is named on a chart. One look for the HTML report, the SVG/PNG files and the snapshots.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRow } from '../../results/table.js';

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Fonts the SVG/PNG renderer (resvg, system fonts) and browsers both have. */
export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
export const MONO = 'DejaVu Sans Mono, Menlo, Consolas, monospace';

/** Variant colours, fixed so a variant looks the same on every chart. */
export const VARIANT_COLORS: Record<string, string> = {
  engram: '#d6604d',
  overencoding: '#4393c3',
  'overencoding-full': '#2166ac',
  moe: '#555555',
  dense: '#9e9ac8',
};

export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: '#ddd' },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    gridColor: '#eee',
    domainColor: '#888',
    tickColor: '#888',
  },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  header: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/** Wrap a chart body into a top-level spec with the shared look. */
export function topLevel(
  title: string,
  subtitle: string | string[] | undefined,
  body: Record<string, unknown>,
): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: subtitle ? { text: title, subtitle } : title,
    config: CONFIG,
    ...body,
  } as TopLevelSpec;
}

/** The x coordinate of an allocation trial: the realised rho (docs/SPEC.md section 4: fit on that one). */
export const rhoOf = (r: TrialRow): number | null => r.rhoActual ?? r.rho;

/** A trial's name on a chart, without the seed (seeds of one configuration share a colour). */
export function trialLabel(r: TrialRow): string {
  if (r.kind === 'allocation') return `${r.budget ?? ''} ${r.variant} rho=${fmt(rhoOf(r), 3)}`.trim();
  if (r.kind === 'memory') return `${r.variant} M=${r.slots ?? '?'}`;
  if (r.kind === 'dense') return `dense${r.budget ? ` ${r.budget}` : ''}`;
  return r.variant;
}

/** Fixed decimals without float noise in the data embedded in a spec. */
export function fmt(x: number | null | undefined, digits: number): string {
  return x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

/** Round for embedding (keeps specs and snapshots small and stable). */
export const round = (x: number, digits = 6): number => Number(x.toPrecision(digits));

/** Mean of a non-empty list. */
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Ordered unique values. */
export const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

/** Colour scale for the variants present, in a fixed order. */
export function variantScale(variants: string[]) {
  const domain = Object.keys(VARIANT_COLORS).filter((v) => variants.includes(v));
  for (const v of variants) if (!domain.includes(v)) domain.push(v);
  return { domain, range: domain.map((v) => VARIANT_COLORS[v] ?? '#888') };
}

/** Trials grouped as the charts read them: kind, budget, variant, rho, slots, seed. */
export function sortTrials(rows: TrialRow[]): TrialRow[] {
  const key = (r: TrialRow): (string | number)[] => [
    r.kind,
    r.budget ?? '',
    r.variant,
    rhoOf(r) ?? -1,
    r.slots ?? -1,
    r.seed,
    r.id,
  ];
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
  });
}
