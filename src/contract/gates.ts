/**
 * gates.json (Engram trials): a fixed validation excerpt, one decoded token each, and the gate
 * per layer and branch: layers[layerId][t][branch] (the paper's Figure 7).
 */
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { InputError } from './errors.js';
import { GATES_FILE } from './files.js';
import { isObject, readJsonIf } from './json.js';

export interface GatesFile {
  tokens: string[];
  layers: Record<string, number[][]>;
}

/** Write <dir>/gates.json atomically (dir: the trial folder). */
export function writeGates(dir: string, gates: GatesFile): void {
  writeJsonAtomic(join(dir, GATES_FILE), gates);
}

/** <dir>/gates.json, or null when absent; a malformed or misshapen one is an InputError naming it. */
export function readGates(dir: string): GatesFile | null {
  const file = join(dir, GATES_FILE);
  const g = readJsonIf(file);
  if (g === null) return null;
  const tokens = isObject(g) ? g.tokens : undefined;
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new InputError(file, 'needs "tokens": an array of strings', 'tokens');
  }
  const layers = (g as Record<string, unknown>).layers;
  if (!isObject(layers)) throw new InputError(file, 'needs "layers": {layerId: number[T][hc]}', 'layers');
  for (const [l, v] of Object.entries(layers)) {
    const perToken = (t: unknown) => Array.isArray(t) && t.every((x) => typeof x === 'number');
    if (!Array.isArray(v) || v.length !== tokens.length || !v.every(perToken)) {
      const want = `layer ${l} must hold ${tokens.length} arrays of numbers (one per token)`;
      throw new InputError(file, want, `layers.${l}`);
    }
  }
  return g as unknown as GatesFile;
}
