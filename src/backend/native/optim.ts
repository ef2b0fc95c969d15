/**
 * Optimizer-side helpers on the addon, for src/train: AdamW in place and the squared norm of a
 * gradient, without creating a single tfjs tensor. AdamW written with tf ops is ~16 kernels
 * per parameter tensor (~430 per step for dense-s, ~18 ms of a ~240 ms step); here it is one
 * native pass per tensor over p, m, v and g in the wasm heap.
 *
 * Both return null when they cannot run (the addon is off, another backend, a tensor whose
 * memory is shared with another tensor): the caller then does the same with tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { asWasm, offsetOf, type WasmBackend } from '../kernels/wasm-util.js';
import { loadNative, type NativeAddon } from './addon.js';
import { FUSED } from './fused-kernels.js';

function active(): { addon: NativeAddon; backend: WasmBackend } | null {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(FUSED.rmsNorm, 'wasm') == null) return null;
  const state = loadNative();
  return state.ok ? { addon: state.addon, backend: asWasm(tf.backend()) } : null;
}

/** A float32 tensor whose memory no other tensor shares (safe to overwrite in place). */
function exclusive(backend: WasmBackend, t: tf.Tensor): boolean {
  const d = backend.dataIdMap.get(t.dataId) as { refCount?: number } | undefined;
  return t.dtype === 'float32' && d != null && (d.refCount ?? 1) <= 1;
}

export interface AdamWScalars {
  lr: number;
  beta1: number;
  beta2: number;
  /** bias corrections 1 - beta^t */
  bc1: number;
  bc2: number;
  eps: number;
  /** decoupled weight decay of this tensor (0 for norms and biases) */
  decay: number;
  /** gradient scale (clipping); 1 leaves it alone */
  scale: number;
}

/**
 * One AdamW step in place: m, v and p are overwritten, exactly as src/train/adamw.ts computes
 * them with tf ops (same float32 operations in the same order, so the same bits). Returns false
 * (and changes nothing) when it cannot run.
 */
export function adamwInPlace(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, s: AdamWScalars): boolean {
  const a = active();
  if (a == null) return false;
  const { addon, backend } = a;
  const n = p.size;
  if (m.size !== n || v.size !== n || g.size !== n || g.dtype !== 'float32') return false;
  if (![p, m, v].every((t) => exclusive(backend, t)) || new Set([p.dataId, m.dataId, v.dataId, g.dataId]).size !== 4)
    return false;
  if (n === 0) return true;
  const off = (t: tf.Tensor) => offsetOf(backend, t);
  addon.adamw(
    backend.wasm.HEAPU8,
    off(p),
    off(m),
    off(v),
    off(g),
    n,
    s.scale,
    s.beta1,
    1 - s.beta1,
    s.beta2,
    1 - s.beta2,
    s.bc1,
    s.bc2,
    s.eps,
    1 - s.lr * s.decay,
    s.lr,
    s.scale === 1 ? 0 : 1,
    s.decay ? 1 : 0,
  );
  return true;
}

/** sum(t^2) in float64 for a float32 tensor on wasm, or null when the addon cannot do it. */
export function sumOfSquares(t: tf.Tensor): number | null {
  const a = active();
  if (a == null || t.dtype !== 'float32') return null;
  return a.addon.sumSquares(a.backend.wasm.HEAPU8, offsetOf(a.backend, t), t.size);
}
