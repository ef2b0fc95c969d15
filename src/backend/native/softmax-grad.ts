/**
 * The gradient of tfjs' Softmax kernel as one native pass: installed over tfjs' own by
 * registerNativeKernels (index.ts) when the addon is active.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED } from './fused-kernels.js';

const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) != null;

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
