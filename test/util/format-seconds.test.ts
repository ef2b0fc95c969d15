/** Durations in progress lines and ETAs: whole units, never 60 of the smaller one. */
import { describe, expect, it } from 'vitest';
import { formatSeconds } from '../../src/util/progress.js';

describe('formatSeconds', () => {
  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [59.6, '1m00s'],
    [61, '1m01s'],
    [3599.4, '59m59s'],
    [3599.6, '1h00m'],
    [7170, '2h00m'],
    [25170, '7h00m'],
    [25140, '6h59m'],
  ])('%d s -> %s', (s, want) => expect(formatSeconds(s)).toBe(want));
});
