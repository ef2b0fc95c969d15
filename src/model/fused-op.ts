/**
 * What a layer needs to call its fused kernel: whether one is registered for the active backend
 * (the native addon registers them on wasm; src/backend/native/fused-kernels.ts), and the type tf.customGrad
 * takes. Each layer file writes its math in stock tf ops and, when its kernel is registered, runs
 * one kernel forward and one backward instead (FIELD-NOTES "Per-op overhead is real").
 */
import * as tf from '@tensorflow/tfjs';

export { FUSED } from '../backend/index.js';

export const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) != null;

export type CustomGradFn = Parameters<typeof tf.customGrad>[0];
