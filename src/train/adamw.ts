import * as tf from '@tensorflow/tfjs';
import { adamwInPlace } from '../backend/index.js';

/**
 * AdamW (decoupled weight decay) for the backbone's tfjs variables. Decay applies to matrices
 * only, not to norm weights, biases or the conv (the usual GPT practice). With the native addon
 * active each tensor is one in-place pass (the same float32 operations in the same order as the
 * tf ops below, so the same bits); otherwise ~16 tf kernels per tensor.
 */
export class AdamW {
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();
  private t = 0;

  constructor(private readonly o: { beta1: number; beta2: number; eps: number; weightDecay: number }) {}

  step(params: tf.Variable[], grads: tf.Tensor[], lr: number, scale = 1): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.o;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      params.forEach((p, i) => {
        const m = this.slot(this.m, p);
        const v = this.slot(this.v, p);
        const decay = p.rank >= 2 ? weightDecay : 0;
        if (adamwInPlace(p, m, v, grads[i], { lr, beta1: b1, beta2: b2, bc1, bc2, eps, decay, scale })) return;
        const g = scale === 1 ? grads[i] : tf.mul(grads[i], scale);
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        p.assign(tf.sub(decay ? tf.mul(p, 1 - lr * decay) : p, tf.mul(update, lr)));
      });
    });
  }

  /** The moments of each parameter (zeros before its first step) and the step count: for a snapshot. */
  state(params: tf.Variable[]): { t: number; m: Float32Array[]; v: Float32Array[] } {
    const read = (map: Map<tf.Variable, tf.Variable>, p: tf.Variable) => {
      const s = map.get(p);
      return s ? (s.dataSync() as Float32Array).slice() : new Float32Array(p.size);
    };
    return { t: this.t, m: params.map((p) => read(this.m, p)), v: params.map((p) => read(this.v, p)) };
  }

  /** Put back what state() returned (same parameters, same order). */
  restore(params: tf.Variable[], s: { t: number; m: Float32Array[]; v: Float32Array[] }): void {
    this.t = s.t;
    params.forEach((p, i) => {
      this.slot(this.m, p).assign(tf.tensor(s.m[i], p.shape));
      this.slot(this.v, p).assign(tf.tensor(s.v[i], p.shape));
    });
  }

  private slot(map: Map<tf.Variable, tf.Variable>, p: tf.Variable): tf.Variable {
    let s = map.get(p);
    if (!s) {
      s = tf.variable(tf.zerosLike(p), false);
      map.set(p, s);
    }
    return s;
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
  }
}
