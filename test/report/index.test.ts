/**
 * writeReport and the `report` command: the files it writes (report.html; with png the SVG and a
 * PNG of twice its size), and bad input refused with InputError before anything is written.
 */
import { Command } from 'commander';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { register } from '../../src/cli/commands/report.js';
import { writeReport } from '../../src/report/index.js';
import { makeFixture } from './fixture.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tmp = () => {
  const r = mkdtempSync(join(tmpdir(), 'report-bad-'));
  roots.push(r);
  return r;
};
const fixture = (opts = {}) => {
  const d = makeFixture(opts);
  roots.push(dirname(d));
  return d;
};

/** Every path under dir with its size and mtime: proof that nothing was written. */
function snapshotTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const p = join(e.parentPath ?? e.path, e.name);
      const s = statSync(p);
      return `${p} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

/** PNG width and height from the IHDR chunk. */
function pngSize(b: Buffer): [number, number] {
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe('writeReport', () => {
  it('writes report.html, and with png an SVG and a 2x PNG per chart', async () => {
    const dir = fixture();
    const out = await writeReport(dir, { png: true });
    expect(out.html).toBe(join(dir, 'report.html'));
    expect(out.charts).toEqual(['ushape', 'powerlaw', 'gates', 'training', 'load']);
    expect(out.files).toHaveLength(1 + 2 * out.charts.length);
    const html = readFileSync(out.html, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.length).toBeGreaterThan(800_000); // the three libraries are inside
    for (const name of out.charts) {
      const svg = readFileSync(join(dir, 'plots', `${name}.svg`), 'utf8');
      const [, w, h] = svg.match(/<svg[^>]* width="([\d.]+)" height="([\d.]+)"/)!;
      expect(pngSize(readFileSync(join(dir, 'plots', `${name}.png`)))).toEqual([
        Math.round(2 * Number(w)),
        Math.round(2 * Number(h)),
      ]);
    }
    // no temp files left behind by the atomic writes
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('works before any fit and with no gates: fewer charts, still a report', async () => {
    const dir = fixture({ fits: false, gates: false });
    const out = await writeReport(dir);
    expect(out.charts).toEqual(['ushape', 'powerlaw', 'training', 'load']);
    expect(existsSync(join(dir, 'plots'))).toBe(false);
    expect(readFileSync(out.html, 'utf8')).toContain('No fit yet: run engram-sweep fit');
  });
});

describe('bad input: InputError, nothing written', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a missing folder', () => join(tmp(), 'nope'), /is not a folder/],
    ['a folder without trials/', () => tmp(), /not a results folder/],
    [
      'no finished trials',
      () => {
        const d = tmp();
        mkdirSync(join(d, 'trials', 't1'), { recursive: true });
        writeFileSync(join(d, 'trials', 't1', 'config.json'), '{}');
        return d;
      },
      /nothing to report: no finished trials/,
    ],
    [
      'only failed trials',
      () => {
        const d = tmp();
        mkdirSync(join(d, 'trials', 't1'), { recursive: true });
        writeFileSync(join(d, 'trials', 't1', 'config.json'), '{}');
        writeFileSync(join(d, 'trials', 't1', 'result.json'), JSON.stringify({ status: 'failed', reason: 'oom' }));
        return d;
      },
      /all 1 finished trials failed/,
    ],
    [
      'a malformed fits.json',
      () => {
        const d = fixture();
        writeFileSync(join(d, 'fits.json'), '{"ushape": ');
        return d;
      },
      /fits\.json: malformed JSON/,
    ],
    [
      'a gates.json with the wrong shape',
      () => {
        const d = fixture();
        const t = readdirSync(join(d, 'trials')).find((id) => existsSync(join(d, 'trials', id, 'gates.json')))!;
        for (const id of readdirSync(join(d, 'trials')))
          if (existsSync(join(d, 'trials', id, 'gates.json')))
            writeFileSync(
              join(d, 'trials', id, 'gates.json'),
              JSON.stringify({ tokens: ['a', 'b'], layers: { 1: [[0.5]] } }),
            );
        return join(d, 'trials', t, '..', '..');
      },
      /layer 1 must hold 2 arrays/,
    ],
    [
      'a damaged metrics line',
      () => {
        const d = fixture();
        const t = readdirSync(join(d, 'trials'))[0];
        const f = join(d, 'trials', t, 'metrics.jsonl');
        writeFileSync(f, '{"step":1,"tokens":1,"loss":2}\n{oops\n{"step":2,"tokens":2,"loss":1}\n');
        return d;
      },
      /metrics\.jsonl: line 2: malformed JSON/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const dir = make();
      const before = snapshotTree(dir);
      const err = await writeReport(dir, { png: true }).then(
        () => null,
        (e) => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).line()).toMatch(message);
      expect(snapshotTree(dir)).toEqual(before);
    });
  }

  it('a torn last metrics line (a killed trial) and a NaN loss written as null are skipped, not refused', async () => {
    const d = fixture({ fits: false });
    const t = readdirSync(join(d, 'trials'))[0];
    writeFileSync(
      join(d, 'trials', t, 'metrics.jsonl'),
      '{"step":1,"tokens":1,"loss":2}\n{"step":2,"tokens":2,"loss":null}\n{"step":3,"tok',
    );
    await expect(writeReport(d)).resolves.toMatchObject({ charts: expect.arrayContaining(['training']) });
  });
});

describe('report command', () => {
  const program = () => {
    const p = new Command('engram-sweep').exitOverride();
    register(p);
    return p;
  };

  it('writes the report and prints {html, charts, files} with --json', async () => {
    const dir = fixture({ fits: false });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => lines.push(s) > 0) as typeof process.stdout.write;
    try {
      await program().parseAsync(['node', 'engram-sweep', 'report', dir, '--json']);
    } finally {
      process.stdout.write = write;
    }
    const out = JSON.parse(lines.join(''));
    expect(out.html).toBe(join(dir, 'report.html'));
    expect(existsSync(out.html)).toBe(true);
  });

  it('bad input surfaces as InputError (the CLI exits 2 with its line)', async () => {
    await expect(program().parseAsync(['node', 'engram-sweep', 'report', join(tmp(), 'nope')])).rejects.toBeInstanceOf(
      InputError,
    );
  });
});
