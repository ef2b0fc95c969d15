/**
 * metrics.jsonl's one read policy (src/contract/metrics.ts): blank lines skipped; an
 * unterminated last line that does not parse is a row being written and is skipped; any other
 * bad line is an InputError naming the file and the line. lastMetricsRow applies the same
 * policy reading from the end.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/contract/errors.js';
import { appendMetrics, lastMetricsRow, readMetricsFile } from '../../src/contract/metrics.js';
import type { MetricsRow } from '../../src/contract/results.js';

const root = mkdtempSync(join(tmpdir(), 'es-metrics-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const f = join(root, `m${n++}.jsonl`);
  writeFileSync(f, text);
  return f;
};
const row = (step: number, extra: Partial<MetricsRow> = {}): MetricsRow => ({
  step,
  tokens: step * 64,
  lr: 1e-3,
  loss: 10 / step,
  tokensPerSec: 100,
  msPerStep: 5,
  ...extra,
});
const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');

/** The InputError f throws. */
function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('readMetricsFile', () => {
  it('reads every row in order; a missing file has none', () => {
    const rows = [row(1), row(2, { valLoss: 4, valBpb: 2 }), row(3, { branch: 4096, horizon: true })];
    expect(readMetricsFile(file(lines(rows)))).toEqual(rows);
    expect(readMetricsFile(join(root, 'missing.jsonl'))).toEqual([]);
    expect(readMetricsFile(file(''))).toEqual([]);
  });

  it('skips a torn last line (a running trial mid-write: no newline yet)', () => {
    expect(readMetricsFile(file(lines([row(1), row(2)]) + '{"step":3,"tok'))).toEqual([row(1), row(2)]);
    // a complete last row that only lacks its newline is a row
    expect(readMetricsFile(file(lines([row(1)]) + JSON.stringify(row(2))))).toEqual([row(1), row(2)]);
  });

  it('skips blank lines', () => {
    expect(readMetricsFile(file(lines([row(1)]) + '\n  \n' + lines([row(2)])))).toEqual([row(1), row(2)]);
  });

  it('a bad line anywhere else is an InputError naming the file and the line', () => {
    const middle = file(lines([row(1)]) + '{oops\n' + lines([row(3)]));
    const e = inputError(() => readMetricsFile(middle));
    expect(e.where).toBe(middle);
    expect(e.line()).toMatch(/^.*m\d+\.jsonl: line 2: malformed JSON/);
    // a bad last line that has its newline was written whole: damage, not a torn write
    const last = file(lines([row(1), row(2)]) + '{"step":3,"tok\n');
    expect(inputError(() => readMetricsFile(last)).line()).toMatch(/line 3: malformed JSON/);
  });

  it('a line that is not a row (no number step, or a loss that is neither a number nor null) is an error', () => {
    expect(inputError(() => readMetricsFile(file('[1,2]\n'))).line()).toMatch(
      /line 1: a metrics row needs a number "step"/,
    );
    expect(inputError(() => readMetricsFile(file(lines([row(1), { step: '2', loss: 1 }])))).line()).toMatch(/line 2: /);
    expect(inputError(() => readMetricsFile(file(lines([{ step: 1, loss: 'x' }])))).line()).toMatch(/line 1: /);
  });

  it('a NaN loss (written as null by JSON) reads back as NaN', () => {
    const [r] = readMetricsFile(file('{"step":1,"tokens":64,"loss":null}\n'));
    expect(r.loss).toBeNaN();
  });
});

describe('appendMetrics', () => {
  it('appends one line per row, newline last; the reader gives the rows back', () => {
    const f = join(root, 'append.jsonl');
    const rows = [
      row(1, { expertLoad: [[0.5, 0.5]] }),
      row(2, { gateMean: { '1': 0.3 } }),
      row(3, { branch: 100, horizon: true, valLoss: 3 }),
    ];
    for (const r of rows) appendMetrics(f, r);
    expect(readMetricsFile(f)).toEqual(rows);
    expect(lastMetricsRow(f)).toEqual(rows[2]);
  });
});

describe('lastMetricsRow', () => {
  it('is the last row readMetricsFile gives, for the same files', () => {
    const texts = [
      lines([row(1), row(2)]),
      lines([row(1), row(2)]) + '{"step":3,"tok',
      lines([row(1)]) + JSON.stringify(row(2)),
      lines([row(1)]) + '\n\n  \n',
      '{"step":1,"tokens":64,"loss":null}\n',
    ];
    for (const t of texts) {
      const f = file(t);
      const all = readMetricsFile(f);
      expect(lastMetricsRow(f)).toEqual(all.at(-1));
    }
  });

  it('null for a missing file, an empty one, or one holding only a torn line', () => {
    expect(lastMetricsRow(join(root, 'missing.jsonl'))).toBeNull();
    expect(lastMetricsRow(file(''))).toBeNull();
    expect(lastMetricsRow(file('\n\n'))).toBeNull();
    expect(lastMetricsRow(file('{"step":1,"lo'))).toBeNull();
  });

  it('a bad last complete line is an InputError naming the file and its line number', () => {
    const f = file(lines([row(1), row(2)]) + '{oops\n' + '{"step":4,"tok');
    const e = inputError(() => lastMetricsRow(f));
    expect(e.where).toBe(f);
    expect(e.line()).toMatch(/line 3: malformed JSON/);
    expect(() => readMetricsFile(f)).toThrow(/line 3: malformed JSON/);
  });

  it('reads a long file from its tail, across chunk boundaries, and lines longer than a chunk', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row(i + 1));
    const f = file(lines(rows) + '{"step":5001,"tok');
    expect(lastMetricsRow(f)).toEqual(rows[4999]);
    // one row of ~200 KB (expert loads of a wide model) after a torn line's predecessor
    const wide = row(2, {
      expertLoad: Array.from({ length: 64 }, () => Array.from({ length: 256 }, (_, e) => e / 256)),
    });
    const g = file(lines([row(1), wide]));
    expect(JSON.stringify(wide).length).toBeGreaterThan(2 * 65536);
    expect(lastMetricsRow(g)).toEqual(wide);
    appendFileSync(g, '{"step":3,');
    expect(lastMetricsRow(g)).toEqual(wide);
    // line numbers count from the file's start even when the bad line is far back
    const h = file(lines(rows) + '{bad\n');
    expect(inputError(() => lastMetricsRow(h)).line()).toMatch(/line 5001: malformed JSON/);
  });

  it('multi-byte characters across a chunk boundary decode whole', () => {
    const big = { ...row(1), note: 'é'.repeat(40000) };
    const f = file(lines([big]));
    expect(lastMetricsRow(f)).toEqual(big);
  });
});
