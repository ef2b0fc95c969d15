/** Training FLOPs per token of the bench models, against the shapes counted by hand here. */
import { describe, expect, it } from 'vitest';
import { benchModel } from '../../src/bench/configs.js';
import { trainFlopsPerToken } from '../../src/bench/flops.js';

describe('trainFlopsPerToken', () => {
  it('dense-s: 6 x (layers + head) + 12 L T d', () => {
    const [d, L, T, V, h] = [128, 4, 128, 4096, 384];
    const layer = 4 * d * d + 3 * d * h + 2 * d; // Wqkv + Wo, SwiGLU [d, 2h] + [h, d], two norms
    const weights = L * layer + d + d * V; // final norm, LM head (the embedding is a lookup)
    expect(trainFlopsPerToken(benchModel('dense-s'))).toBe(6 * weights + 12 * L * T * d);
  });

  it('moe-m counts the shared expert, the top-2 of 16 routed ones and the router', () => {
    const [d, L, T, V, eh, E, k] = [256, 6, 256, 8192, 192, 16, 2];
    const expert = 3 * d * eh;
    const layer = 4 * d * d + (1 + k) * expert + d * E + 2 * d;
    const weights = L * layer + d + d * V;
    expect(trainFlopsPerToken(benchModel('moe-m'))).toBe(6 * weights + 12 * L * T * d);
  });
});
