/**
 * The import graph of src/ between folders (stages), as DESIGN.md draws it: nothing imports
 * cli/ (commands are thin: parse, call a stage, print); the contract layer imports nothing of
 * the suite; and no new cycle between folders. Imports are found by the TypeScript scanner
 * (static imports, re-exports, import() calls; comments and strings are not mistaken for them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

/**
 * Folder cycles that exist today, each a sorted list of the folders of one strongly connected
 * component: none. The test fails on any cycle not listed, and on a listed one that is gone.
 */
const KNOWN_CYCLES: string[][] = [];

/**
 * Imports from outside backend/ of a file of backend/ other than its index.ts (the compute stage's
 * one way in), as "importing file -> imported file" under src/: none today; the test fails on any.
 */
const KNOWN_SIDE_DOORS: string[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** src/<folder>/... -> folder; src/index.ts -> "." */
const folderOf = (file: string) => {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : '.';
};

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.')) continue; // a package
      const target = resolve(dirname(file), spec);
      if (relative(SRC, target).startsWith('..')) continue; // outside src/ (package.json, ...)
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) edges.push({ from, to, file: relative(SRC, file), spec });
    }
  }
  return edges;
}

/** Strongly connected components of more than one folder (Tarjan), each sorted. */
function folderCycles(edges: Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, new Set());
    if (!next.has(e.to)) next.set(e.to, new Set());
    next.get(e.from)!.add(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

const key = (c: string[]) => c.join(' <-> ');
const show = (edges: Edge[]) => edges.map((e) => `${e.file} imports ${e.spec}`).join('\n');

describe('the import graph of src/', () => {
  const edges = importEdges();

  it('finds the imports (the scanner works on this tree)', () => {
    expect(edges.length).toBeGreaterThan(50);
    expect(edges.some((e) => e.from === 'cli' && e.to === 'sweep')).toBe(true);
    // import() calls count too (sweep/child.ts loads the trainer late)
    expect(edges.some((e) => e.file === join('sweep', 'child.ts') && e.to === 'train')).toBe(true);
  });

  it('has no arrow from any folder into cli/', () => {
    const bad = edges.filter((e) => e.to === 'cli' && e.from !== 'cli');
    expect(bad, show(bad)).toEqual([]);
  });

  it('has the contract layer import nothing of the suite', () => {
    const bad = edges.filter((e) => e.from === 'contract');
    expect(bad, show(bad)).toEqual([]);
  });

  it('has compute (backend/, with the native addon under it) entered only through backend/index.ts', () => {
    const doors = edges
      .filter((e) => e.to === 'backend' && e.from !== 'backend')
      .map((e) => {
        const target = relative(SRC, resolve(SRC, dirname(e.file), e.spec))
          .replace(/\.js$/, '.ts')
          .split(sep)
          .join('/');
        return `${e.file.split(sep).join('/')} -> ${target}`;
      })
      .filter((d) => !d.endsWith(' -> backend/index.ts'));
    expect([...new Set(doors)].sort()).toEqual(KNOWN_SIDE_DOORS);
  });

  it('has no folder cycle beyond the known ones, and every known one still exists', () => {
    const cycles = folderCycles(edges);
    const known = new Set(KNOWN_CYCLES.map((c) => key([...c].sort())));
    const found = new Set(cycles.map(key));
    const arrows = (c: string[]) => show(edges.filter((e) => c.includes(e.from) && c.includes(e.to)));
    const added = cycles.filter((c) => !known.has(key(c)));
    expect(
      added.map((c) => `${key(c)}:\n${arrows(c)}`),
      'new folder cycles',
    ).toEqual([]);
    const gone = [...known].filter((k) => !found.has(k));
    expect(gone, 'cycles gone: remove them from KNOWN_CYCLES').toEqual([]);
  });
});
