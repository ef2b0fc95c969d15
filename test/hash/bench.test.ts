import { describe, expect, it } from 'vitest';
import { benchHashing } from '../../src/bench/hash.js';
import { InputError } from '../../src/cli/errors.js';

describe('benchHashing', () => {
  it('reports indices = whole rows of 512 tokens x 16 heads, and a consistent rate', () => {
    // Small on purpose: a timing, not a speed assertion (two shared cores).
    const r = benchHashing({ tokens: 20_000 });
    expect(r.indices).toBe(Math.floor(20_000 / 512) * 512 * 16);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.indicesPerSec).toBeCloseTo(r.indices / r.seconds, 6);
  });

  it('rejects too few tokens', () => {
    expect(() => benchHashing({ tokens: 10 })).toThrow(InputError);
  });
});
