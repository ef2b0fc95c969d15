/**
 * metrics.jsonl: one JSON object per logged step (MetricsRow), appended by the running trial.
 * One read policy for every reader (status, tables, bundle, report):
 *  - blank lines are skipped;
 *  - the last line, when it has no newline yet and does not parse, is a row being written (or
 *    torn by a kill mid-append) and is skipped;
 *  - any other line that is not a JSON object with a number `step` and a number (or null)
 *    `loss` is damage: InputError naming the file and the line number.
 * JSON writes a NaN loss as null; the readers give NaN back, so `loss` is always a number.
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { InputError } from './errors.js';
import { isObject } from './json.js';
import type { MetricsRow } from './results.js';

/** Append one row (one write, newline last: a kill leaves at most a torn last line). */
export function appendMetrics(file: string, row: MetricsRow): void {
  appendFileSync(file, JSON.stringify(row) + '\n');
}

/**
 * One line under the policy: the row, null to skip it (blank, or the torn unterminated last
 * line), or InputError. `lineNo` is called only to name a bad line.
 */
function parseLine(file: string, line: string, lineNo: () => number, unterminated: boolean): MetricsRow | null {
  if (!line.trim()) return null;
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch (e) {
    if (unterminated) return null;
    throw new InputError(file, `line ${lineNo()}: malformed JSON: ${(e as Error).message}`);
  }
  if (!isObject(r) || typeof r.step !== 'number' || (typeof r.loss !== 'number' && r.loss !== null)) {
    throw new InputError(file, `line ${lineNo()}: a metrics row needs a number "step" and a number (or null) "loss"`);
  }
  return { ...r, loss: r.loss ?? NaN } as unknown as MetricsRow;
}

/** Every row of a metrics.jsonl, in file order; [] when the file does not exist. */
export function readMetricsFile(file: string): MetricsRow[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: MetricsRow[] = [];
  lines.forEach((line, i) => {
    const row = parseLine(file, line, () => i + 1, i === lines.length - 1);
    if (row) out.push(row);
  });
  return out;
}

const CHUNK = 65536;
const NL = 0x0a;

/** 1 + the newlines in the file's first `end` bytes: the line number of the line starting at `end`. */
function lineAt(fd: number, end: number): number {
  const buf = Buffer.alloc(CHUNK);
  let n = 1;
  for (let pos = 0; pos < end; ) {
    const got = readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
    if (got <= 0) break;
    for (let i = 0; i < got; i++) if (buf[i] === NL) n++;
    pos += got;
  }
  return n;
}

/**
 * The last row of a metrics.jsonl, under the same policy as readMetricsFile, read from the end
 * (the file grows with the steps; `status` reads every trial's): null when the file does not
 * exist or holds no row yet.
 */
export function lastMetricsRow(file: string): MetricsRow | null {
  if (!existsSync(file)) return null;
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    // buf holds the file's bytes [pos, size); lines are taken from the end, [segStart, segEnd)
    let pos = size;
    let buf = Buffer.alloc(0);
    let segEnd = size;
    let last = true;
    for (;;) {
      const from = segEnd - pos - 1;
      const nl = from >= 0 ? buf.lastIndexOf(NL, from) : -1;
      if (nl < 0 && pos > 0) {
        const n = Math.min(CHUNK, pos);
        const chunk = Buffer.alloc(n);
        readSync(fd, chunk, 0, n, pos - n);
        buf = Buffer.concat([chunk, buf]);
        pos -= n;
        continue;
      }
      const segStart = nl < 0 ? 0 : pos + nl + 1;
      const text = buf.subarray(segStart - pos, segEnd - pos).toString('utf8');
      // the last segment has no newline after it: empty when the file ends with one
      const row = parseLine(file, text, () => lineAt(fd, segStart), last);
      if (row) return row;
      if (segStart === 0) return null;
      segEnd = segStart - 1;
      last = false;
    }
  } finally {
    closeSync(fd);
  }
}
