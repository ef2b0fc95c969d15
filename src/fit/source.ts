/**
 * What `fit` reads: a results folder (its finished trials, via results/table.ts) or a table
 * (CSV, JSONL, or a JSON array of objects) with named x, y and by columns, turned into series
 * of points: one point per distinct x, holding the seeds' y values.
 *
 * A `variant` column, where present, has a meaning for the U-shape: rows of variant moe are pure
 * MoE (no Engram module), the paper's rho = 1, kept aside as the reference of their group rather
 * than put on the curve; dense rows are ignored; any other memory variant than engram gets its
 * own curve ("<group>/<variant>"). A `status` column keeps only rows with status ok.
 */
import * as aq from 'arquero';
import { existsSync, statSync } from 'node:fs';
import { InputError, show } from '../cli/errors.js';
import { readTrialRows } from '../results/table.js';
import { readText } from '../util/load.js';
import type { Point } from './bootstrap.js';

export type FitKind = 'ushape' | 'powerlaw';
export const FIT_KINDS: readonly FitKind[] = ['ushape', 'powerlaw'];

export interface Series {
  key: string;
  points: Point[];
  /** ushape only: pure-MoE losses of this group */
  reference?: number[];
}

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

/** Split CSV text into records (RFC 4180 quoting; a header row names the columns). */
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
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
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
    if (c.length !== header.length) throw new InputError(where, `line ${l} has ${c.length} fields, the header has ${header.length}`);
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

const numeric = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** The first of the candidates that some row has. */
function pick(rows: Labelled[], candidates: string[]): string | undefined {
  return candidates.find((c) => rows.some((r) => c in r.row));
}

/** Records -> series: check the columns, parse numbers (naming the row), group seeds per x. */
export function buildDataset(rows: Labelled[], kind: FitKind, cols: Required<Pick<ColumnChoice, 'x' | 'y'>> & { by: string | null }, where: string): Dataset {
  const have = new Set(rows.flatMap((r) => Object.keys(r.row)));
  for (const [flag, c] of [['--x', cols.x], ['--y', cols.y], ['--by', cols.by]] as const) {
    if (c !== null && !have.has(c)) throw new InputError(where, `${flag} column ${show(c)} is not in the table (columns: ${[...have].join(', ')})`);
  }
  const flat: { key: string; ref: boolean; x: number; y: number }[] = [];
  for (const { row, label } of rows) {
    if ('status' in row && row.status !== 'ok') continue;
    const variant = typeof row.variant === 'string' ? row.variant : null;
    if (kind === 'ushape' && variant === 'dense') continue;
    const ref = kind === 'ushape' && variant === 'moe';
    const x = ref ? 1 : numeric(row[cols.x]);
    const y = numeric(row[cols.y]);
    for (const [c, v] of [[cols.x, x], [cols.y, y]] as const) {
      if (!Number.isFinite(v)) throw new InputError(where, `${label}: ${c} = ${show(row[c])} is not a number`);
      if (kind === 'powerlaw' && !(v > 0)) throw new InputError(where, `${label}: ${c} = ${show(row[c])} must be positive for a power law`);
    }
    let key = cols.by === null ? 'all' : String(row[cols.by] ?? '');
    if (kind === 'ushape' && variant && variant !== 'engram' && !ref) key += `/${variant}`;
    flat.push({ key, ref, x, y });
  }
  if (flat.length === 0) throw new InputError(where, 'no rows to fit (every row was filtered out: status not ok, or variant dense)');
  const grouped = aq
    .from(flat)
    .groupby('key', 'ref', 'x')
    .rollup({ ys: aq.op.array_agg('y') })
    .orderby('key', 'x')
    .objects() as { key: string; ref: boolean; x: number; ys: number[] }[];
  const byKey = new Map<string, Series>();
  const refs = new Map<string, number[]>();
  for (const g of grouped) {
    if (g.ref) refs.set(g.key, [...(refs.get(g.key) ?? []), ...g.ys]);
    else {
      if (!byKey.has(g.key)) byKey.set(g.key, { key: g.key, points: [] });
      byKey.get(g.key)!.points.push({ x: g.x, ys: g.ys });
    }
  }
  for (const [key, ys] of refs) {
    const s = byKey.get(key);
    if (s) s.reference = ys;
  }
  if (byKey.size === 0) throw new InputError(where, 'no rows on a curve (only reference rows of variant moe)');
  return { kind, x: cols.x, y: cols.y, by: cols.by, where, series: [...byKey.values()] };
}

/** A CSV / JSONL / JSON table; --kind is required here since a table says nothing of its kind. */
export function tableDataset(file: string, kind: FitKind, choice: ColumnChoice = {}): Dataset {
  const rows = readTable(file);
  if (rows.length === 0) throw new InputError(file, 'the table has no data rows');
  const x = choice.x ?? pick(rows, kind === 'ushape' ? ['rho', 'rhoActual'] : ['slots']) ?? (kind === 'ushape' ? 'rho' : 'slots');
  const y = choice.y ?? pick(rows, ['valLoss', 'loss', 'val_loss']) ?? 'valLoss';
  return buildDataset(rows, kind, { x, y, by: choice.by ?? null }, file);
}

/** Which kinds a results folder's finished trials allow. */
export function sweepDatasets(dir: string, kinds: readonly FitKind[] | null, choice: ColumnChoice = {}): Dataset[] {
  const rows = readTrialRows(dir).filter((r) => r.status === 'ok' && r.valLoss !== null);
  if (rows.length === 0) throw new InputError(dir, 'no finished trials (status ok) to fit');
  // realised rho, falling back to the nominal one (ENGRAM-SPEC 4: fit on the realised rho)
  const labelled = (kind: string) =>
    rows.filter((r) => r.kind === kind).map((r) => ({ row: { ...r, rhoActual: r.rhoActual ?? r.rho } as Row, label: `trial ${r.id}` }));
  const alloc = labelled('allocation');
  const memory = labelled('memory').filter((r) => r.row.slots !== null && (r.row.variant === 'engram' || r.row.variant === 'overencoding'));
  const wanted = kinds ?? [...(alloc.length ? ['ushape' as const] : []), ...(memory.length ? ['powerlaw' as const] : [])];
  if (wanted.length === 0) throw new InputError(dir, 'no finished allocation or memory trials: nothing to fit');
  return wanted.map((kind) => {
    const set = kind === 'ushape' ? alloc : memory;
    if (set.length === 0) throw new InputError(dir, `--kind ${kind}: no finished ${kind === 'ushape' ? 'allocation' : 'memory'} trials`);
    const x = choice.x ?? (kind === 'ushape' ? 'rhoActual' : 'slots');
    return buildDataset(set, kind, { x, y: choice.y ?? 'valLoss', by: choice.by ?? (kind === 'ushape' ? 'budget' : 'variant') }, dir);
  });
}

/** A folder is a results folder; anything else is read as a table. */
export const isFolder = (source: string) => existsSync(source) && statSync(source).isDirectory();
