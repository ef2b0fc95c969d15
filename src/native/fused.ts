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
  const op = tf.customGrad(((xs: tf.Tensor) => ({
    value: tf.engine().runKernel(FUSED.rope, { x: xs, cos, sin }, { inverse: false }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor) => tf.engine().runKernel(FUSED.rope, { x: dy, cos, sin }, { inverse: true }) as tf.Tensor,
  })) as unknown as CustomGradFn);
  return op(x);
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
