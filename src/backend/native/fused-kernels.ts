/**
 * Kernels of the fused ops (the layers of src/model/) on wasm through the addon, plus the addon's version of
 * our SparseSoftmaxCrossEntropyWithLogits kernel. The fused kernels have names of their own
 * (FUSED below); the layers run them only when they are registered for the active backend.
 */
import * as tf from '@tensorflow/tfjs';
import { SPARSE_SOFTMAX_CE } from '../kernels/cross-entropy.js';
import { type KernelArgs, type WasmBackend, asWasm, input, offsetOf } from '../kernels/wasm-util.js';
import type { NativeAddon } from './addon.js';
import { delegate, type NativeKernelFactory } from './elementwise.js';

export const FUSED = {
  rmsNorm: 'EngramRmsNorm',
  rmsNormGrad: 'EngramRmsNormGrad',
  swiglu: 'EngramSwiGLU',
  swigluGrad: 'EngramSwiGLUGrad',
  softmaxGrad: 'EngramSoftmaxGrad',
  rope: 'EngramRope',
  attention: 'EngramCausalAttention',
  attentionGrad: 'EngramCausalAttentionGrad',
  groupedMatMul: 'EngramGroupedMatMul',
  groupedMatMulGrad: 'EngramGroupedMatMulGrad',
  engramGate: 'EngramGate',
  engramGateGrad: 'EngramGateGrad',
} as const;

type Out = tf.TensorInfo | tf.TensorInfo[];
const off = (b: WasmBackend, t: tf.TensorInfo) => offsetOf(b, t);

function f32Only(name: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${name}: float32 only, got ${t.dtype}`);
}

function config(name: string, f: (addon: NativeAddon, args: KernelArgs, b: WasmBackend) => Out): NativeKernelFactory {
  return (addon) => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => f(addon, args, asWasm(args.backend))) as unknown as tf.KernelFunc,
  });
}

/** x [..., d], w [d] -> y [..., d], inv [rows] (1 / rms per row, kept for the gradient) */
const rmsNorm = config(FUSED.rmsNorm, (addon, args, b) => {
  const x = input(args, 'x');
  const w = input(args, 'w');
  f32Only(FUSED.rmsNorm, x, w);
  const d = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / d;
  const y = b.makeOutput(x.shape, 'float32');
  const inv = b.makeOutput([rows], 'float32');
  const { eps } = args.attrs as unknown as { eps: number };
  addon.rmsnormFwd(b.wasm.HEAPU8, off(b, y), off(b, inv), off(b, x), off(b, w), rows, d, eps);
  return [y, inv];
});

/** dy, x [..., d], w [d], inv [rows] -> dx [..., d], dw [d] */
const rmsNormGrad = config(FUSED.rmsNormGrad, (addon, args, b) => {
  const [dy, x, w, inv] = ['dy', 'x', 'w', 'inv'].map((n) => input(args, n));
  f32Only(FUSED.rmsNormGrad, dy, x, w, inv);
  const d = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / d;
  const dx = b.makeOutput(x.shape, 'float32');
  const dw = b.makeOutput(w.shape, 'float32');
  addon.rmsnormBwd(b.wasm.HEAPU8, off(b, dx), off(b, dw), off(b, dy), off(b, x), off(b, w), off(b, inv), rows, d);
  return [dx, dw];
});

/** gu [rows, 2h] -> silu(gu[:, :h]) * gu[:, h:] [rows, h] */
const swiglu = config(FUSED.swiglu, (addon, args, b) => {
  const gu = input(args, 'gu');
  f32Only(FUSED.swiglu, gu);
  const [rows, h2] = gu.shape;
  const y = b.makeOutput([rows, h2 / 2], 'float32');
  addon.swigluFwd(b.wasm.HEAPU8, off(b, y), off(b, gu), rows, h2 / 2);
  return y;
});

const swigluGrad = config(FUSED.swigluGrad, (addon, args, b) => {
  const dy = input(args, 'dy');
  const gu = input(args, 'gu');
  f32Only(FUSED.swigluGrad, dy, gu);
  const [rows, h2] = gu.shape;
  const dgu = b.makeOutput(gu.shape, 'float32');
  addon.swigluBwd(b.wasm.HEAPU8, off(b, dgu), off(b, dy), off(b, gu), rows, h2 / 2);
  return dgu;
});

/** dy, y (softmax output) [..., n] -> y (dy - sum(dy y)) */
const softmaxGrad = config(FUSED.softmaxGrad, (addon, args, b) => {
  const dy = input(args, 'dy');
  const y = input(args, 'y');
  f32Only(FUSED.softmaxGrad, dy, y);
  const cols = y.shape[y.shape.length - 1];
  const dx = b.makeOutput(y.shape, 'float32');
  addon.softmaxBwd(b.wasm.HEAPU8, off(b, dx), off(b, dy), off(b, y), tf.util.sizeFromShape(y.shape) / cols, cols);
  return dx;
});

/** x [..., T, dh], cos/sin [T, dh]; attrs.inverse applies the transpose (the gradient) */
const rope = config(FUSED.rope, (addon, args, b) => {
  const [x, cos, sin] = ['x', 'cos', 'sin'].map((n) => input(args, n));
  f32Only(FUSED.rope, x, cos, sin);
  const [T, dh] = cos.shape;
  const r = x.shape.length;
  if (x.shape[r - 1] !== dh || x.shape[r - 2] !== T)
    throw new Error(`${FUSED.rope}: x [${x.shape}] vs tables [${cos.shape}]`);
  const out = b.makeOutput(x.shape, 'float32');
  const { inverse } = (args.attrs ?? {}) as { inverse?: boolean };
  const outer = tf.util.sizeFromShape(x.shape) / (T * dh);
  addon.rope(b.wasm.HEAPU8, off(b, out), off(b, x), off(b, cos), off(b, sin), outer, T, dh, inverse ? 1 : 0);
  return out;
});

/** Shapes of a fused-QKV attention call: qkv [B, T, 3d], cos/sin [T, dh], heads * dh = d. */
function attentionDims(qkv: tf.TensorInfo, cos: tf.TensorInfo, heads: number): [number, number, number, number] {
  const [B, T, d3] = qkv.shape;
  const [Tc, dh] = cos.shape;
  if (qkv.shape.length !== 3 || d3 % 3 !== 0 || Tc !== T || d3 / 3 !== heads * dh) {
    throw new Error(`${FUSED.attention}: qkv [${qkv.shape}], rope tables [${cos.shape}], ${heads} heads do not fit`);
  }
  return [B, T, heads, dh];
}

/** qkv [B, T, 3d] -> out [B, T, d] (merged heads), and q, k after RoPE and P for the gradient */
const attention = config(FUSED.attention, (addon, args, b) => {
  const [qkv, cos, sin] = ['qkv', 'cos', 'sin'].map((n) => input(args, n));
  f32Only(FUSED.attention, qkv, cos, sin);
  const { heads } = args.attrs as unknown as { heads: number };
  const [B, T, H, dh] = attentionDims(qkv, cos, heads);
  const out = b.makeOutput([B, T, H * dh], 'float32');
  const qr = b.makeOutput([B, H, T, dh], 'float32');
  const kr = b.makeOutput([B, H, T, dh], 'float32');
  const probs = b.makeOutput([B, H, T, T], 'float32');
  addon.attentionFwd(
    b.wasm.HEAPU8,
    off(b, out),
    off(b, qr),
    off(b, kr),
    off(b, probs),
    off(b, qkv),
    off(b, cos),
    off(b, sin),
    B,
    T,
    H,
    dh,
    1 / Math.sqrt(dh),
  );
  return [out, qr, kr, probs];
});

const attentionGrad = config(FUSED.attentionGrad, (addon, args, b) => {
  const [dy, qkv, qr, kr, probs, cos, sin] = ['dy', 'qkv', 'qr', 'kr', 'probs', 'cos', 'sin'].map((n) =>
    input(args, n),
  );
  f32Only(FUSED.attentionGrad, dy, qkv, qr, kr, probs, cos, sin);
  const { heads } = args.attrs as unknown as { heads: number };
  const [B, T, H, dh] = attentionDims(qkv, cos, heads);
  const dqkv = b.makeOutput(qkv.shape, 'float32');
  addon.attentionBwd(
    b.wasm.HEAPU8,
    off(b, dqkv),
    off(b, dy),
    off(b, qr),
    off(b, kr),
    off(b, probs),
    off(b, qkv),
    off(b, cos),
    off(b, sin),
    B,
    T,
    H,
    dh,
    1 / Math.sqrt(dh),
  );
  return dqkv;
});

/** SparseSoftmaxCrossEntropyWithLogits in one pass per row (max, exp, sum, loss, backprop). */
const sparseCE: NativeKernelFactory = (addon, prev) => ({
  kernelName: SPARSE_SOFTMAX_CE,
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    const logits = input(args, 'logits');
    const labels = input(args, 'labels');
    if (logits.dtype !== 'float32' || logits.shape.length !== 2 || labels.dtype !== 'int32') {
      return delegate(prev, SPARSE_SOFTMAX_CE, args);
    }
    const [n, v] = logits.shape;
    if (labels.shape.length !== 1 || labels.shape[0] !== n || n === 0 || v === 0)
      return delegate(prev, SPARSE_SOFTMAX_CE, args);
    const b = asWasm(args.backend);
    const loss = b.makeOutput([n], 'float32');
    const bp = b.makeOutput([n, v], 'float32');
    const bad = addon.softmaxCE(b.wasm.HEAPU8, off(b, loss), off(b, bp), off(b, logits), off(b, labels), n, v);
    if (bad >= 0) {
      const label = new Int32Array(b.wasm.HEAPU8.buffer, off(b, labels), n)[bad];
      b.disposeData(loss.dataId);
      b.disposeData(bp.dataId);
      throw new Error(`${SPARSE_SOFTMAX_CE}: label ${label} at row ${bad} is outside [0, ${v})`);
    }
    return [loss, bp];
  }) as unknown as tf.KernelFunc,
});

export const fusedKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  [FUSED.rmsNorm, rmsNorm],
  [FUSED.rmsNormGrad, rmsNormGrad],
  [FUSED.swiglu, swiglu],
  [FUSED.swigluGrad, swigluGrad],
  [FUSED.softmaxGrad, softmaxGrad],
  [FUSED.rope, rope],
  [FUSED.attention, attention],
  [FUSED.attentionGrad, attentionGrad],
  [SPARSE_SOFTMAX_CE, sparseCE],
];
