/**
 * "Did you mean": the allowed key closest to a mistyped one. Used by the zod error line
 * (train/config.ts zodInputError) for unknown keys, e.g. train.warmpu -> "warmup".
 */
import type { z } from 'zod';

/**
 * Edit distance with adjacent transpositions (optimal string alignment): insertions, deletions,
 * substitutions and swaps of two neighbours cost 1 each, so "warmpu" is 1 from "warmup".
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word` within `max` edits (case counts as an edit, but a match that
 * differs only in case wins ties), or undefined. A candidate must keep at least one character of
 * the word in place: "x" does not suggest "lr".
 */
export function closest(word: string, candidates: Iterable<string>, max = 2): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const dist = editDistance(word, c);
    if (dist > max || dist >= Math.max(word.length, c.length)) continue;
    // same letters up to case first, then the fewest edits; the first in schema order on ties
    const score = dist - (c.toLowerCase() === word.toLowerCase() ? 0.5 : 0);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
};

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Through optional, default, nullable, pipes and the like to the schema that holds the keys. */
function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (!inner) return s;
    s = inner;
  }
  return s;
}

/**
 * The keys an object schema allows at `path` (a zod issue path: keys and array indices), or []
 * when the path does not lead to an object schema (records, unions: any key or unknown).
 */
export function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const key of path) {
    const d = defOf(s);
    if (d.type === 'object' && d.shape && typeof key === 'string' && key in d.shape) s = unwrap(d.shape[key]);
    else if (d.type === 'array' && d.element && typeof key === 'number') s = unwrap(d.element);
    else if (d.type === 'record' && d.valueType) s = unwrap(d.valueType);
    else return [];
  }
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}
