import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { layerMultipliers, validateMultipliers } from '../../src/hash/multipliers.js';
import { InputError } from '../../src/cli/errors.js';
import { skipBecause } from '../helpers/skip.js';

// The live comparison needs numpy: it skips (one line says why) unless ENGRAM_SWEEP_REQUIRE_SYSTEM=1
// (CI), where a missing numpy fails. ENGRAM_SWEEP_PYTHON points elsewhere (e.g. to check that path).
const PYTHON = process.env.ENGRAM_SWEEP_PYTHON ?? '/usr/bin/python3';
const REQUIRED = process.env.ENGRAM_SWEEP_REQUIRE_SYSTEM === '1';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const NO_NUMPY = `${PYTHON} has no numpy (apt-get install python3-numpy)`;

describe('layerMultipliers', () => {
  it('matches the known answers of docs/SPEC.md section 2.2', () => {
    expect(layerMultipliers(50000, 0, 1, 3)).toEqual([151872553228291n, 9591860036773n, 71266316989379n]);
    expect(layerMultipliers(98765, 5, 2, 3)).toEqual([10061439006975n, 35240093040053n, 6505288336037n]);
    expect(layerMultipliers(1000, 11, 0, 3)).toEqual([1185850812994185n, 4605025475050781n, 5547843131917349n]);
  });

  it('a longer draw extends the shorter one (same stream, size = N)', () => {
    const m5 = layerMultipliers(50000, 0, 1, 5);
    expect(m5.slice(0, 3)).toEqual(layerMultipliers(50000, 0, 1, 3));
  });

  it('gives odd m with x * m < 2^63 for every id x < |V|', () => {
    for (const vocab of [1, 2, 1000, 98627, 2 ** 17, 2 ** 31 - 1]) {
      const half = (2n ** 63n - 1n) / BigInt(vocab) / 2n || 1n;
      for (const m of layerMultipliers(vocab, 3, 4, 4)) {
        expect(m & 1n).toBe(1n);
        expect(m > 0n && m < 2n * half).toBe(true);
        expect(BigInt(vocab - 1) * m < 2n ** 63n).toBe(true);
      }
    }
  });

  it('rejects bad arguments', () => {
    expect(() => layerMultipliers(0, 0, 0, 3)).toThrow(InputError);
    expect(() => layerMultipliers(10, -1, 0, 3)).toThrow(InputError);
    expect(() => layerMultipliers(10, 0, 1.5, 3)).toThrow(InputError);
    expect(() => layerMultipliers(10, 0, 0, 1)).toThrow(InputError);
  });

  it.skipIf(
    skipBecause(
      !hasNumpy && !REQUIRED,
      'the live numpy multipliers check',
      `${PYTHON} has no numpy`,
      'apt-get install python3-numpy',
    ),
  )('matches numpy default_rng(...).integers live on random triples', () => {
    expect(hasNumpy, `ENGRAM_SWEEP_REQUIRE_SYSTEM=1 but ${NO_NUMPY}`).toBe(true);
    let s = 12345;
    const rnd = (n: number): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
    const triples = Array.from({ length: 60 }, () => [
      1 + rnd(2 ** 20) * (1 + rnd(1500)),
      rnd(1000),
      rnd(30),
      2 + rnd(4),
    ]);
    const script = [
      'import json, sys, numpy as np',
      'out = []',
      'for v, seed, layer, n in json.load(sys.stdin):',
      '    half = max(1, ((2**63 - 1) // v) // 2)',
      '    r = np.random.default_rng(seed + 10007 * layer).integers(0, half, size=n, dtype=np.int64)',
      '    out.append([str(2 * int(x) + 1) for x in r])',
      'print(json.dumps(out))',
    ].join('\n');
    const res = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(triples), encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const want: string[][] = JSON.parse(res.stdout);
    triples.forEach(([v, seed, layer, n], i) => {
      expect(layerMultipliers(v, seed, layer, n).map(String), `triple ${triples[i]}`).toEqual(want[i]);
    });
  });
});

describe('validateMultipliers', () => {
  it('accepts N odd values in (0, 2^63)', () => {
    expect(() => validateMultipliers([1n, 3n, 2n ** 63n - 1n], 3, 'cfg')).not.toThrow();
  });

  it.each([
    ['count', [1n, 3n]],
    ['even', [1n, 4n, 5n]],
    ['zero', [1n, 0n, 5n]],
    ['negative', [1n, -3n, 5n]],
    ['too large', [1n, 2n ** 63n + 1n, 5n]],
    ['not a bigint', [1n, 3 as unknown as bigint, 5n]],
  ])('rejects a bad list (%s) with an InputError naming the place', (_why, ms) => {
    try {
      validateMultipliers(ms as bigint[], 3, 'spec.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).where).toBe('spec.yaml');
    }
  });
});
