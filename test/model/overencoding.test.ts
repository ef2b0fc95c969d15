/**
 * OverEncoding's two settings of how the token embedding enters (docs/SPEC.md section 4.5), on the path a
 * trial uses, against a float64 computation written out head by head: 'mean' (the reference, the
 * default) = (tok + sum_k row_k W_k) / (1 + (N-1)K); 'full' = tok + sum_k row_k W_k / ((N-1)K).
 * And that the Transformer passes the config's setting through.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig, TokenWeight } from '../../src/model/config.js';
import { dMem, headDim, tablesPerPosition } from '../../src/model/config.js';
import { overEncoding } from '../../src/model/overencoding.js';
import { Transformer } from '../../src/model/transformer.js';
import { rand, setup } from '../native/util.js';

const { path } = await setup();

const mem = { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 6, baseSizes: [11, 13], initStd: 1, seed: 0 };
const N = 5; // positions
const d = 4;
const heads = tablesPerPosition(mem); // (N-1)K = 4
const dh = headDim(mem); // 3
const dm = dMem(mem); // 12

/** float64: head k's row (dims k*dh..) times its own [dh, d] block of proj, summed, then weighted. */
function reference(tok: Float32Array, rows: Float32Array, proj: Float32Array, weight: TokenWeight): Float64Array {
  const out = new Float64Array(N * d);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let k = 0; k < heads; k++) {
        for (let i = 0; i < dh; i++) sum += rows[r * dm + k * dh + i] * proj[(k * dh + i) * d + j];
      }
      const t = tok[r * d + j];
      out[r * d + j] = weight === 'full' ? t + sum / heads : (t + sum) / (1 + heads);
    }
  }
  return out;
}

describe(`OverEncoding tokenWeight (${path})`, () => {
  const tok = rand(N * d);
  const rows = rand(N * dm);
  const proj = rand(dm * d);
  const run = (weight?: TokenWeight) =>
    tf.tidy(() =>
      overEncoding(tf.tensor2d(tok, [N, d]), tf.tensor2d(rows, [N, dm]), tf.tensor2d(proj, [dm, d]), heads, weight)
        .dataSync()
        .slice(),
    );

  for (const weight of ['mean', 'full'] as const) {
    it(`${weight}: against float64`, () => {
      const got = run(weight);
      const want = reference(tok, rows, proj, weight);
      got.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}`).toBeLessThan(1e-5 * (1 + Math.abs(want[i]))));
    });
  }

  it('absent is the mean, and the two settings differ', () => {
    expect(run()).toEqual(run('mean'));
    const full = reference(tok, rows, proj, 'full');
    const mean = reference(tok, rows, proj, 'mean');
    expect(Math.max(...full.map((v, i) => Math.abs(v - mean[i])))).toBeGreaterThan(0.1);
  });

  it("the Transformer uses the config's setting: full on embedding E is mean on (1 + (N-1)K) E when the rows are 0", () => {
    const base: ModelConfig = {
      vocabSize: 31,
      dModel: 8,
      nLayers: 1,
      nHeads: 2,
      seqLen: 6,
      ffnHidden: 12,
      ropeBase: 10000,
      normEps: 1e-6,
    };
    const B = 2;
    const T = base.seqLen;
    const ids = tf.tensor2d(Int32Array.from(rand(B * T, 0, base.vocabSize), Math.floor), [B, T], 'int32');
    const zero = tf.zeros([B * T, dm]) as tf.Tensor2D;
    const model = (weight?: TokenWeight) =>
      new Transformer({ ...base, overEncoding: { ...mem, ...(weight ? { tokenWeight: weight } : {}) } }, 5);
    const logits = (m: Transformer) => {
      const r = m.forward(ids, { engram: new Map(), overEncoding: zero });
      const out = r.logits.dataSync().slice();
      tf.dispose([r.logits, r.aux ?? [], ...r.gates.values()]);
      return out;
    };
    const full = model('full');
    const mean = model();
    const a = logits(full);
    const b = logits(mean);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeGreaterThan(1e-3); // same weights, other setting
    const embed = mean.weights.get('embed');
    mean.weights.assign(
      'embed',
      (embed.dataSync() as Float32Array).map((v) => v * (1 + heads)),
    );
    const c = logits(mean);
    a.forEach((v, i) => expect(Math.abs(v - c[i]), `logit ${i}`).toBeLessThan(1e-4 * (1 + Math.abs(v))));
    full.weights.dispose();
    mean.weights.dispose();
    tf.dispose([ids, zero]);
  });
});
