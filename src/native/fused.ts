/**
 * The softmax gradient as one native pass (registerSoftmaxGradient), and a re-export of the
 * fused layers, whose math now lives with the layer in src/model/ (norm.ts, swiglu.ts, rope.ts,
 * attention.ts); each calls its kernel when one is registered. The re-export keeps the names
 * src/backend exports today (export * from here); importers should take them from src/model/.
 */
import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../model/fused-op.js';
import { FUSED } from './fused-kernels.js';

export { attention, causalAttention } from '../model/attention.js';
export { rmsNorm } from '../model/norm.js';
export { rope } from '../model/rope.js';
export { swiglu, swigluActivation } from '../model/swiglu.js';

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
