/**
 * The Engram gate and short conv of one branch (src/model/engram.ts) as one kernel forward and
 * one backward on the addon (native/src/engram_gate.c), in place of the ~40 small tfjs kernels
 * and their gradients the stock graph runs per step; the C follows that graph's float32
 * operations and their order, so both paths give the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackend, asWasm, input, offsetOf } from '../kernels/wasm-util.js';
import type { NativeAddon } from './addon.js';
import type { NativeKernelFactory } from './elementwise.js';
import { FUSED } from './fused-kernels.js';

/** The kernels' attributes: the batch layout of the rows and the options of the fusion. */
export interface EngramGateAttrs {
  B: number;
  T: number;
  dilation: number; // the conv's dilation, the max n-gram N
  signedSqrt: boolean;
  gateEps: number;
  convEps: number;
}

const WEIGHTS = ['keyNorm', 'queryNorm', 'convNorm', 'conv'] as const;

/** byte offsets of h, kpre, v and the four weights (or of their gradients) */
type Seven = [number, number, number, number, number, number, number];

/** Inputs by name, checked: h, kpre, v [B T, d]; the three norms [d]; conv [d, width]. */
function operands(name: string, args: KernelArgs, attrs: EngramGateAttrs) {
  const [h, kpre, v, keyNorm, queryNorm, convNorm, conv] = ['h', 'kpre', 'v', ...WEIGHTS].map((n) => input(args, n));
  const [rows, d] = h.shape;
  const ok =
    h.shape.length === 2 &&
    rows === attrs.B * attrs.T &&
    [kpre, v].every((t) => t.shape.length === 2 && t.shape[0] === rows && t.shape[1] === d) &&
    [keyNorm, queryNorm, convNorm].every((t) => t.shape.length === 1 && t.shape[0] === d) &&
    conv.shape.length === 2 &&
    conv.shape[0] === d;
  if (!ok) {
    const shapes = [h, kpre, v, keyNorm, queryNorm, convNorm, conv].map((t) => `[${t.shape}]`).join(', ');
    throw new Error(
      `${name}: h, kpre, v, keyNorm, queryNorm, convNorm, conv ${shapes} do not fit B ${attrs.B} x T ${attrs.T}`,
    );
  }
  for (const t of [h, kpre, v, keyNorm, queryNorm, convNorm, conv])
    if (t.dtype !== 'float32') throw new Error(`${name}: float32 only, got ${t.dtype}`);
  const dims = Int32Array.from([attrs.B, attrs.T, d, conv.shape[1], attrs.dilation, attrs.signedSqrt ? 1 : 0]);
  // in the addon's argument order: h, kpre, v, keyNorm, queryNorm, convNorm, conv
  const list = [h, kpre, v, keyNorm, queryNorm, convNorm, conv];
  return { list, rows, d, dims };
}

function factory(name: string, f: (addon: NativeAddon, args: KernelArgs, b: WasmBackend) => tf.TensorInfo[]) {
  const make: NativeKernelFactory = (addon) => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => f(addon, args, asWasm(args.backend))) as unknown as tf.KernelFunc,
  });
  return make;
}

/** -> out [B T, d], alpha [B T], vt [B T, d], saved [4 B T d + 4 B T] (for the gradient) */
const gate = factory(FUSED.engramGate, (addon, args, b) => {
  const attrs = args.attrs as unknown as EngramGateAttrs;
  const o = operands(FUSED.engramGate, args, attrs);
  const off = (t: tf.TensorInfo) => offsetOf(b, t);
  const out = b.makeOutput([o.rows, o.d], 'float32');
  const alpha = b.makeOutput([o.rows], 'float32');
  const vt = b.makeOutput([o.rows, o.d], 'float32');
  const saved = b.makeOutput([4 * o.rows * o.d + 4 * o.rows], 'float32');
  addon.engramGateFwd(
    b.wasm.HEAPU8,
    off(out),
    off(alpha),
    off(vt),
    off(saved),
    ...(o.list.map(off) as Seven),
    o.dims,
    attrs.gateEps,
    attrs.convEps,
  );
  return [out, alpha, vt, saved];
});

/** dy [B T, d] and the forward's tensors -> dh, dkpre, dv, dKeyNorm, dQueryNorm, dConvNorm, dConv */
const gateGrad = factory(FUSED.engramGateGrad, (addon, args, b) => {
  const attrs = args.attrs as unknown as EngramGateAttrs;
  const o = operands(FUSED.engramGateGrad, args, attrs);
  const [dy, alpha, vt, saved] = ['dy', 'alpha', 'vt', 'saved'].map((n) => input(args, n));
  const n = o.rows * o.d;
  const sizes: [tf.TensorInfo, number][] = [
    [dy, n],
    [alpha, o.rows],
    [vt, n],
    [saved, 4 * n + 4 * o.rows],
  ];
  for (const [t, size] of sizes) {
    if (t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) !== size)
      throw new Error(`${FUSED.engramGateGrad}: a ${t.dtype} [${t.shape}] where ${size} float32 values belong`);
  }
  const off = (t: tf.TensorInfo) => offsetOf(b, t);
  const grads = o.list.map((t) => b.makeOutput(t.shape, 'float32'));
  addon.engramGateBwd(
    b.wasm.HEAPU8,
    ...(grads.map(off) as Seven),
    off(dy),
    ...(o.list.map(off) as Seven),
    off(alpha),
    off(vt),
    off(saved),
    o.dims,
  );
  return grads;
});

export const engramGateKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  [FUSED.engramGate, gate],
  [FUSED.engramGateGrad, gateGrad],
];
