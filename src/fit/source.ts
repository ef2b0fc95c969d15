/**
 * What `fit` reads: a results folder (its finished trials, via results/table.ts) or a table
 * (CSV, JSONL, or a JSON array of objects) with named x, y and by columns, turned into series
 * of points: one point per distinct x, holding the seeds' y values.
 *
 * A `variant` column, where present, has a meaning for the U-shape: rows of variant moe are pure
 * MoE (no Engram module), the paper's rho = 1, kept aside as the reference of their group rather
 * than put on the curve; dense rows are ignored; any other memory variant than engram gets its
 * own curve ("<group>/<variant>"). A `status` column keeps only rows with status ok. A `seed`
 * column labels each y with its seed (the walls pair arms by seed); a `horizon` column (training
 * tokens; fit/horizons.ts expands a results folder's horizons into rows) makes one curve per
 * (group, horizon), keyed "<group>@<horizon>".
 */
import * as aq from 'arquero';
import { existsSync, statSync } from 'node:fs';
import { InputError, show } from '../contract/errors.js';
import { readText } from '../util/load.js';
import type { AllocationSeries } from './allocation.js';
import { readHorizonRows } from './horizons.js';

export type FitKind = 'ushape' | 'powerlaw';
export const FIT_KINDS: readonly FitKind[] = ['ushape', 'powerlaw'];

/**
 * One curve. ushape: key = "<by>[/<variant>][@<horizon>]", budget = the key without the horizon;
 * reference = the pure-MoE losses of this group.
 */
export type Series = AllocationSeries;

export interface Dataset {
  kind: FitKind;
  x: string;
  y: string;
  by: string | null;
  /** the source, for error lines */
  where: string;
  series: Series[];
}

export interface ColumnChoice {
  x?: string;
  y?: string;
  by?: string;
}

type Row = Record<string, unknown>;
/** A row and how to name it in an error line ("line 7", "trial t0123..."). */
interface Labelled {
  row: Row;
  label: string;
}

/**
 * Split CSV text into records (RFC 4180 quoting; a header row names the columns). Not arquero's
 * fromCSV (arquero 8.0.3): it drops a row's extra fields silently, reads an unterminated quote as
 * text and turns a blank line into a row of nulls, where bad input must be one line naming the
 * file and line.
 */
export function parseCsv(text: string, where: string): Labelled[] {
  const lines: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endCell = () => {
    cells.push(cell);
    cell = '';
  };
  const endLine = () => {
    endCell();
    if (cells.some((c) => c.trim() !== '')) lines.push({ cells: cells.map((c) => c.trim()), line: start });
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
      if (ch === '\n') line++;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endCell();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endLine();
      start = ++line;
    } else cell += ch;
  }
  if (quoted) throw new InputError(where, `unterminated quoted field starting on line ${start}`);
  endLine();
  if (lines.length === 0) throw new InputError(where, 'empty table (no header row)');
  const header = lines[0].cells;
  return lines.slice(1).map(({ cells: c, line: l }) => {
    if (c.length !== header.length)
      throw new InputError(where, `line ${l} has ${c.length} fields, the header has ${header.length}`);
    return { row: Object.fromEntries(header.map((h, k) => [h, c[k]])), label: `line ${l}` };
  });
}

/** JSON Lines (one object per line) or a JSON array of objects. */
function parseJson(text: string, where: string): Labelled[] {
  const asObject = (v: unknown, label: string): Row => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InputError(where, `${label} is not a JSON object`);
    return v as Row;
  };
  if (text.trimStart().startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new InputError(where, `malformed JSON: ${(e as Error).message}`);
    }
    return (arr as unknown[]).map((v, i) => ({ row: asObject(v, `element ${i}`), label: `element ${i}` }));
  }
  const out: Labelled[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new InputError(where, `line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
    out.push({ row: asObject(v, `line ${i + 1}`), label: `line ${i + 1}` });
  });
  return out;
}

/** Read a table file: JSON when it starts with { or [, else CSV. */
export function readTable(file: string): Labelled[] {
  const text = readText(file);
  const first = text.trimStart()[0];
  return first === '{' || first === '[' ? parseJson(text, file) : parseCsv(text, file);
}

const numeric = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;

/** The first of the candidates that some row has. */
function pick(rows: Labelled[], candidates: string[]): string | undefined {
  return candidates.find((c) => rows.some((r) => c in r.row));
}

/** Records -> series: check the columns, parse numbers (naming the row), group seeds per x. */
export function buildDataset(
  rows: Labelled[],
  kind: FitKind,
  cols: Required<Pick<ColumnChoice, 'x' | 'y'>> & { by: string | null },
  where: string,
): Dataset {
  const have = new Set(rows.flatMap((r) => Object.keys(r.row)));
  for (const [flag, c] of [
    ['--x', cols.x],
    ['--y', cols.y],
    ['--by', cols.by],
  ] as const) {
    if (c !== null && !have.has(c))
      throw new InputError(where, `${flag} column ${show(c)} is not in the table (columns: ${[...have].join(', ')})`);
  }
  const flat = rows.flatMap(({ row, label }) => {
    const r = flatRow(row, label, kind, cols, where);
    return r ? [r] : [];
  });
  if (flat.length === 0)
    throw new InputError(where, 'no rows to fit (every row was filtered out: status not ok, or variant dense)');
  const grouped = aq
    .from(flat)
    .groupby('key', 'curve', 'horizon', 'ref', 'x')
    .rollup({ ys: aq.op.array_agg('y'), seeds: aq.op.array_agg('seedTag'), pActs: aq.op.array_agg('pAct') })
    .orderby('curve', 'horizon', 'x')
    .objects() as (Flat & { ys: number[]; seeds: string[]; pActs: (number | null)[] })[];
  const byKey = new Map<string, Series & { pActs: number[] }>();
  const refs = new Map<string, number[]>();
  for (const g of grouped) {
    if (g.ref) refs.set(g.key, [...(refs.get(g.key) ?? []), ...g.ys]);
    else {
      if (!byKey.has(g.key))
        byKey.set(g.key, { key: g.key, budget: g.curve, horizon: g.horizon, points: [], pActs: [] });
      const s = byKey.get(g.key)!;
      // seeds label the ys only where every row has one (else the walls pair by row order)
      s.points.push({ x: g.x, ys: g.ys, ...(g.seeds.every((v) => v !== '') ? { seeds: g.seeds.map(Number) } : {}) });
      s.pActs.push(...(g.pActs.filter((v) => v !== null) as number[]));
    }
  }
  if (byKey.size === 0) throw new InputError(where, 'no rows on a curve (only reference rows of variant moe)');
  const series = [...byKey.values()].map(({ pActs, ...s }) => ({
    ...s,
    pAct: pActs.length ? pActs.reduce((a, b) => a + b, 0) / pActs.length : null,
    ...(refs.has(s.key) ? { reference: refs.get(s.key) } : {}),
  }));
  return { kind, x: cols.x, y: cols.y, by: cols.by, where, series };
}

interface Flat {
  key: string;
  /** the key without the horizon */
  curve: string;
  horizon: number | null;
  ref: boolean;
  x: number;
  y: number;
  /** the seed as a string, '' when unknown: array_agg drops nulls, which would misalign seeds and ys */
  seedTag: string;
  pAct: number | null;
}

/** One record as a point of a curve (or of the moe reference); null when it is filtered out. */
function flatRow(
  row: Row,
  label: string,
  kind: FitKind,
  cols: { x: string; y: string; by: string | null },
  where: string,
): Flat | null {
  if ('status' in row && row.status !== 'ok') return null;
  const variant = typeof row.variant === 'string' ? row.variant : null;
  if (kind === 'ushape' && variant === 'dense') return null;
  const ref = kind === 'ushape' && variant === 'moe';
  const x = ref ? 1 : numeric(row[cols.x]);
  const y = numeric(row[cols.y]);
  for (const [c, v] of [
    [cols.x, x],
    [cols.y, y],
  ] as const) {
    if (!Number.isFinite(v)) throw new InputError(where, `${label}: ${c} = ${show(row[c])} is not a number`);
    if (kind === 'powerlaw' && !(v > 0))
      throw new InputError(where, `${label}: ${c} = ${show(row[c])} must be positive for a power law`);
  }
  let curve = cols.by === null ? 'all' : String(row[cols.by] ?? '');
  if (kind === 'ushape' && variant && variant !== 'engram' && !ref) curve += `/${variant}`;
  const h = numeric(row.horizon);
  const horizon = Number.isFinite(h) ? h : null;
  const seed = numeric(row.seed);
  const pAct = numeric(row.pAct);
  return {
    key: horizon === null ? curve : `${curve}@${horizon}`,
    curve,
    horizon,
    ref,
    x,
    y,
    seedTag: Number.isFinite(seed) ? String(seed) : '',
    pAct: pAct > 0 ? pAct : null,
  };
}

/** A CSV / JSONL / JSON table; --kind is required here since a table says nothing of its kind. */
export function tableDataset(file: string, kind: FitKind, choice: ColumnChoice = {}): Dataset {
  const rows = readTable(file);
  if (rows.length === 0) throw new InputError(file, 'the table has no data rows');
  const x =
    choice.x ??
    pick(rows, kind === 'ushape' ? ['rho', 'rhoActual'] : ['slots']) ??
    (kind === 'ushape' ? 'rho' : 'slots');
  const y = choice.y ?? pick(rows, ['valLoss', 'loss', 'val_loss']) ?? 'valLoss';
  return buildDataset(rows, kind, { x, y, by: choice.by ?? null }, file);
}

/**
 * The memory variants fitted as curves in slots: Engram and both OverEncoding settings (the
 * reference's mean over all embeddings, and the token embedding at full weight). Variant moe in a
 * slots sweep is the no-memory reference (no slots): fit/memory.ts reports it beside the curves.
 */
export const MEMORY_CURVES: readonly string[] = ['engram', 'overencoding', 'overencoding-full'];

/** Which kinds a results folder's finished trials allow. */
export function sweepDatasets(dir: string, kinds: readonly FitKind[] | null, choice: ColumnChoice = {}): Dataset[] {
  const rows = readHorizonRows(dir).filter((r) => r.status === 'ok' && r.valLoss !== null);
  if (rows.length === 0) throw new InputError(dir, 'no finished trials (status ok) to fit');
  // realised rho, falling back to the nominal one (docs/SPEC.md section 4: fit on the realised rho)
  const labelled = (kind: string) =>
    rows
      .filter((r) => r.kind === kind)
      .map((r) => ({ row: { ...r, rhoActual: r.rhoActual ?? r.rho } as Row, label: `trial ${r.id}` }));
  const alloc = labelled('allocation');
  // the memory law is fitted at each trial's own (longest) horizon: one row per trial, no horizon key
  const last = new Map(rows.map((r) => [r.id, r.horizon])); // horizons increase: the last is the longest
  const memory = labelled('memory')
    .filter((r) => r.row.horizon === last.get(r.row.id as string))
    .map((r) => ({ ...r, row: { ...r.row, horizon: null } as Row }))
    .filter((r) => r.row.slots !== null && MEMORY_CURVES.includes(r.row.variant as string));
  const wanted = kinds ?? [
    ...(alloc.length ? ['ushape' as const] : []),
    ...(memory.length ? ['powerlaw' as const] : []),
  ];
  if (wanted.length === 0) throw new InputError(dir, 'no finished allocation or memory trials: nothing to fit');
  return wanted.map((kind) => {
    const set = kind === 'ushape' ? alloc : memory;
    if (set.length === 0)
      throw new InputError(dir, `--kind ${kind}: no finished ${kind === 'ushape' ? 'allocation' : 'memory'} trials`);
    const x = choice.x ?? (kind === 'ushape' ? 'rhoActual' : 'slots');
    return buildDataset(
      set,
      kind,
      { x, y: choice.y ?? 'valLoss', by: choice.by ?? (kind === 'ushape' ? 'budget' : 'variant') },
      dir,
    );
  });
}

/** A folder is a results folder; anything else is read as a table. */
export const isFolder = (source: string) => existsSync(source) && statSync(source).isDirectory();
