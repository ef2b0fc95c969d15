/**
 * Engram gate activation on real validation text (paper Figure 7): the excerpt's tokens laid out
 * as text, each on a cell shaded by its gate alpha (mean over hyper-connection branches), one
 * block per Engram layer. High gates on multi-token names and fixed phrases are what the paper
 * reads as memory lookups. Layout is computed here in pixels (a monospace grid), drawn with
 * `scale: null` so the browser and the SVG renderer place tokens identically.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { GateExcerpt, ReportData } from '../data.js';
import { fmt, MONO, round, topLevel, trialLabel } from './common.js';

export const GATES = {
  /** characters per line before wrapping */
  maxChars: 88,
  /** tokens shown from the start of the excerpt */
  maxTokens: 200,
  fontSize: 12,
  /** monospace advance (DejaVu Sans Mono: 0.602 em) with a little slack */
  charWidth: 7.4,
  lineHeight: 19,
  /** gates above this get white text */
  darkAbove: 0.65,
  scheme: 'reds',
};

export interface PlacedToken {
  i: number;
  /** what is drawn: newlines as a return arrow, other control characters as a middle dot */
  text: string;
  line: number;
  col: number;
  /** cells the token covers (its characters, at least 1) */
  chars: number;
  /** leading spaces: the cell covers them, the text starts after them */
  lead: number;
}

/** What a decoded token shows as. */
export function displayToken(t: string): string {
  const s = t
    .replace(/\r?\n/g, '\u21b5')
    .replace(/\t/g, ' ')
    .replace(/[\u0000-\u001f\u007f]/g, '\u00b7');
  return s.length ? s : '\u2205';
}

/** Tokens in reading order on a grid of `maxChars` columns; a line ends after a newline token. */
export function layoutTokens(tokens: string[], maxChars = GATES.maxChars): PlacedToken[] {
  let line = 0;
  let col = 0;
  return tokens.map((t, i) => {
    const text = displayToken(t);
    const chars = Math.max(1, [...text].length);
    if (col > 0 && col + chars > maxChars) {
      line++;
      col = 0;
    }
    const placed = { i, text, line, col, chars, lead: text.length - text.trimStart().length };
    col += chars;
    if (t.includes('\n')) {
      line++;
      col = 0;
    }
    return placed;
  });
}

/** Mean gate over the hyper-connection branches of one token. */
export const tokenGate = (branches: number[]): number =>
  branches.reduce((a, b) => a + b, 0) / Math.max(1, branches.length);

function layerBlock(g: GateExcerpt, layer: string, placed: PlacedToken[], domain: [number, number]): object {
  const { charWidth: w, lineHeight: h } = GATES;
  const values = placed.map((p) => ({
    i: p.i,
    token: p.text.trimStart(),
    raw: JSON.stringify(g.tokens[p.i]),
    gate: round(tokenGate(g.layers[layer][p.i]), 4),
    // the cell (1 px gap to the next token) and the text's left-middle anchor, in pixels
    x: p.col * w,
    x2: (p.col + p.chars) * w - 1,
    y: p.line * h,
    y2: p.line * h + h - 2,
    tx: (p.col + p.lead) * w + 0.5,
    ty: p.line * h + (h - 2) / 2,
  }));
  const lines = Math.max(...placed.map((p) => p.line)) + 1;
  const px = (field: string) => ({ field, type: 'quantitative', scale: null, axis: null });
  return {
    title: { text: `layer ${layer}`, fontSize: 12 },
    width: Math.ceil(GATES.maxChars * w),
    height: lines * h,
    data: { values },
    layer: [
      {
        mark: { type: 'rect', cornerRadius: 2 },
        encoding: {
          x: px('x'),
          x2: { field: 'x2' },
          y: px('y'),
          y2: { field: 'y2' },
          color: { field: 'gate', type: 'quantitative', title: 'gate', scale: { scheme: GATES.scheme, domain } },
          tooltip: [{ field: 'i', title: 'position' }, { field: 'raw', title: 'token' }, { field: 'gate' }],
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', font: MONO, fontSize: GATES.fontSize },
        encoding: {
          x: px('tx'),
          y: px('ty'),
          text: { field: 'token' },
          color: { condition: { test: `datum.gate > ${GATES.darkAbove * domain[1]}`, value: 'white' }, value: '#222' },
        },
      },
    ],
  };
}

/** The gate chart for the report's chosen trial, or null when no Engram trial wrote gates.json. */
export function gatesChart(d: ReportData): TopLevelSpec | null {
  const g = d.gates;
  const layerIds = g ? Object.keys(g.layers).sort((a, b) => Number(a) - Number(b)) : [];
  if (!g?.tokens.length || !layerIds.length) return null;
  const tokens = g.tokens.slice(0, GATES.maxTokens);
  const placed = layoutTokens(tokens);
  const all = layerIds.flatMap((l) => tokens.map((_, i) => tokenGate(g.layers[l][i])));
  // gates are sigmoids (docs/SPEC.md section 3): keep 0..1 so shades compare across reports
  const domain: [number, number] = [Math.min(0, ...all), Math.max(1, ...all)];
  const hc = g.layers[layerIds[0]][0]?.length ?? 1;
  const who = `${trialLabel(g.row)} seed ${g.row.seed} (${g.id}, val loss ${fmt(g.row.valLoss, 4)})`;
  const what = `${tokens.length} validation tokens${hc > 1 ? `, gate = mean of ${hc} branches` : ''}`;
  return topLevel('Engram gate on validation text', `${who}; ${what}`, {
    vconcat: layerIds.map((l) => layerBlock(g, l, placed, domain)),
    resolve: { scale: { color: 'shared' } },
  });
}
