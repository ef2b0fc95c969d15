/**
 * Fused ops with their own gradients, for the places where tfjs' per-op overhead costs most
 * (FIELD-NOTES "Per-op overhead is real"). Each runs one native kernel forward and one backward
 * when the addon's kernels are registered for the active backend, and otherwise the same math
 * as stock tf ops (what src/model/ writes today), so a model can call them unconditionally.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED } from './fused-kernels.js';

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) != null;

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w over the last axis (model/norm.ts). x [..., d], w [d] */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  if (!hasKernel(FUSED.rmsNorm)) {
    return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w));
  }
  const op = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, inv] = tf.engine().runKernel(FUSED.rmsNorm, { x: xs, w: ws }, { eps }) as tf.Tensor[];
    save([xs, ws, inv]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sinv] = saved;
        return tf.engine().runKernel(FUSED.rmsNormGrad, { dy, x: sx, w: sw, inv: sinv }) as tf.Tensor[];
      },
    };
  }) as unknown as CustomGradFn);
  return op(x, w);
}

/** SiLU(g) * u for gu = [g | u] along the last axis: [N, 2h] -> [N, h] (model/swiglu.ts). */
export function swigluActivation(gu: tf.Tensor2D): tf.Tensor2D {
  const h = gu.shape[1] / 2;
  if (!hasKernel(FUSED.swiglu)) {
    return tf.tidy(() => {
      const [g, u] = tf.split(gu, [h, h], 1);
      return tf.mul(tf.mul(g, tf.sigmoid(g)), u) as tf.Tensor2D;
    });
  }
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.engine().runKernel(FUSED.swiglu, { gu: x }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(FUSED.swigluGrad, { dy, gu: saved[0] }) as tf.Tensor,
    };
  }) as unknown as CustomGradFn);
  return op(gu) as tf.Tensor2D;
}

/** SwiGLU FFN: down(SiLU(x Wg) * (x Wu)) with wgu = [Wg | Wu]: [d, 2h]. x [N, d] -> [N, d] */
export function swiglu(x: tf.Tensor2D, wgu: tf.Tensor, wdown: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(swigluActivation(tf.matMul(x, wgu) as tf.Tensor2D), wdown) as tf.Tensor2D);
}

/**
 * Rotate-half RoPE (model/rope.ts): x cos + [-x2, x1] sin over the last axis.
 * x [..., T, dh], cos/sin [T, dh] constants (no gradient to them).
 */
export function rope(x: tf.Tensor, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor {
  const dh = x.shape[x.shape.length - 1];
  if (!hasKernel(FUSED.rope)) {
    return tf.tidy(() => {
      const [x1, x2] = tf.split(x, [dh / 2, dh / 2], x.rank - 1);
      return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], x.rank - 1), sin));
    });
  }
  // cos and sin go through save(): a caller may create them inside the traced function, and
  // tensors made there are disposed before the backward pass runs
  const op = tf.customGrad(((xs: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin]);
    return {
      value: tf.engine().runKernel(FUSED.rope, { x: xs, cos, sin }, { inverse: false }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(FUSED.rope, { x: dy, cos: saved[0], sin: saved[1] }, { inverse: true }) as tf.Tensor,
    };
  }) as unknown as CustomGradFn);
  return op(x);
}

/** Additive causal masks by length (0 on and below the diagonal, -1e9 above), for the fallback. */
const masks = new Map<number, tf.Tensor2D>();
function causalMask(T: number): tf.Tensor2D {
  let m = masks.get(T);
  if (m == null || m.isDisposed) {
    const v = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(v, [T, T]));
    masks.set(T, m);
  }
  return m;
}

/**
 * Causal multi-head self-attention between the projections (model/attention.ts without the two
 * matmuls): qkv [B, T, 3d] laid out [B, T, 3, H, dh] -> merged heads [B, T, d], with RoPE on q and
 * k (cos/sin [T, dh] constants) and the causal mask. One kernel forward, one backward.
 */
export function causalAttention(qkv: tf.Tensor3D, heads: number, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor3D {
  const [B, T, d3] = qkv.shape;
  const d = d3 / 3;
  const dh = d / heads;
  if (!hasKernel(FUSED.attention)) {
    return tf.tidy(() => {
      const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, heads, dh]), [2, 0, 3, 1, 4])); // [B, H, T, dh]
      const s = tf.add(tf.mul(tf.matMul(rope(q, cos, sin), rope(k, cos, sin), false, true), 1 / Math.sqrt(dh)), causalMask(T));
      const ctx = tf.matMul(tf.softmax(s, -1), v); // [B, H, T, dh]
      return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B, T, d]) as tf.Tensor3D;
    });
  }
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, qr, kr, probs] = tf.engine().runKernel(FUSED.attention, { qkv: x, cos, sin }, { heads }) as tf.Tensor[];
    save([x, qr, kr, probs, cos, sin]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sq, sk, sp, sc, ss] = saved;
        return tf.engine().runKernel(FUSED.attentionGrad, { dy, qkv: sx, qr: sq, kr: sk, probs: sp, cos: sc, sin: ss }, { heads }) as tf.Tensor;
      },
    };
  }) as unknown as CustomGradFn);
  return op(qkv) as tf.Tensor3D;
}

/**
 * Causal self-attention with its projections (model/attention.ts): x [B, T, d], wqkv [d, 3d],
 * wo [d, d], tables: RoPE cos/sin [T, dh]. The part between the projections is causalAttention.
 */
export function attention(x: tf.Tensor3D, wqkv: tf.Tensor, wo: tf.Tensor, nHeads: number,
  tables: { cos: tf.Tensor2D; sin: tf.Tensor2D }): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, d] = x.shape;
    const qkv = tf.reshape(tf.matMul(tf.reshape(x, [B * T, d]), wqkv), [B, T, 3 * d]) as tf.Tensor3D;
    const ctx = causalAttention(qkv, nHeads, tables.cos, tables.sin); // [B, T, d]
    return tf.reshape(tf.matMul(tf.reshape(ctx, [B * T, d]), wo), [B, T, d]) as tf.Tensor3D;
  });
}

/**
 * The gradient of tfjs' Softmax kernel, y (dy - sum(dy y)), as one native pass when the addon
 * is active, else the stock formula. Installed over tfjs' gradient by registerSoftmaxGradient.
 */
function softmaxGrad(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): { logits: () => tf.Tensor } {
  const [y] = saved;
  const dim = (attrs as { dim?: number }).dim ?? -1;
  const last = dim === -1 || dim === y.rank - 1;
  if (last && y.dtype === 'float32' && hasKernel(FUSED.softmaxGrad)) {
    return { logits: () => tf.engine().runKernel(FUSED.softmaxGrad, { dy, y }) as tf.Tensor };
  }
  return {
    logits: () => {
      const dyTimesY = tf.mul(dy, y);
      return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
    },
  };
}

let softmaxGradInstalled = false;

/** Replace tfjs' Softmax gradient by softmaxGrad (same values; global, idempotent). */
export function registerSoftmaxGradient(): void {
  if (softmaxGradInstalled) return;
  tf.registerGradient({
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: softmaxGrad as unknown as tf.GradConfig['gradFunc'],
  });
  softmaxGradInstalled = true;
}
