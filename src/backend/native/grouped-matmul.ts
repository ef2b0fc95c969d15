/**
 * The routed experts' grouped matmul (src/model/grouped-matmul.ts) as one kernel forward and one
 * backward: each expert's rows and weights are read where they lie in x and w, and its products
 * written in place, through the same cblas_sgemm call per group that the stock path makes on
 * sliced copies (same sizes, transposes and leading dimensions), so both give the same bits
 * without the ~100 slices, concats and stacks a moe-s step otherwise runs.
 */
import type * as tf from '@tensorflow/tfjs';
import { type KernelArgs, asWasm, f32, input, offsetOf } from '../kernels/wasm-util.js';
import type { NativeAddon } from './addon.js';
import type { NativeKernelFactory } from './elementwise.js';
import { FUSED } from './fused-kernels.js';

/** [expert, first row, rows] of each non-empty group; the sizes must cover the M rows of x */
function groups(sizes: number[], E: number, M: number, name: string): [number, number, number][] {
  if (sizes.length !== E) throw new Error(`${name}: ${sizes.length} group sizes for ${E} experts`);
  const out: [number, number, number][] = [];
  let off = 0;
  for (let e = 0; e < E; e++) {
    // the addon checks offsets against the heap, not the tensor: a negative size would reach
    // outside x while the sum still comes out right
    if (!Number.isInteger(sizes[e]) || sizes[e] < 0) throw new Error(`${name}: group size ${sizes[e]} of expert ${e}`);
    if (sizes[e] > 0) out.push([e, off, sizes[e]]);
    off += sizes[e];
  }
  if (off !== M) throw new Error(`${name}: group sizes sum to ${off}, x has ${M} rows`);
  return out;
}

/** x [M, K], w [E, K, N] and dy [M, N] (when given) agree */
function shapes(name: string, x: tf.TensorInfo, w: tf.TensorInfo, dy?: tf.TensorInfo): void {
  const ok =
    x.shape.length === 2 &&
    w.shape.length === 3 &&
    x.shape[1] === w.shape[1] &&
    (dy == null || (dy.shape.length === 2 && dy.shape[0] === x.shape[0] && dy.shape[1] === w.shape[2]));
  if (!ok) throw new Error(`${name}: x [${x.shape}], w [${w.shape}]${dy ? `, dy [${dy.shape}]` : ''} do not fit`);
}

function f32Only(name: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${name}: float32 only, got ${t.dtype}`);
}

function factory(name: string, f: (addon: NativeAddon, args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) {
  const make: NativeKernelFactory = (addon) => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => f(addon, args)) as unknown as tf.KernelFunc,
  });
  return make;
}

/** C = op(A) op(B) for one group: M x N out, K inner, operands at byte offsets (batch 1, beta 0) */
function gemm(
  addon: NativeAddon,
  heap: Uint8Array,
  ta: 0 | 1,
  tb: 0 | 1,
  M: number,
  N: number,
  K: number,
  a: number,
  b: number,
  c: number,
) {
  addon.sgemm(heap, 1, ta, tb, M, N, K, 1, a, M * K, b, K * N, 0, c, M * N);
}

/** The checked sizes and groups of a call: x [M, K], w [E, K, N] (and dy [M, N]) */
function prologue(name: string, args: KernelArgs, x: tf.TensorInfo, w: tf.TensorInfo, dy?: tf.TensorInfo) {
  f32Only(name, x, w, ...(dy ? [dy] : []));
  shapes(name, x, w, dy);
  const [E, K, N] = w.shape;
  const M = x.shape[0];
  const gs = groups((args.attrs as unknown as { sizes: number[] }).sizes, E, M, name);
  return { E, K, N, M, gs, b: asWasm(args.backend) };
}

/** x [M, K] (rows sorted by expert), w [E, K, N], attrs.sizes [E] -> [M, N] */
const forward = factory(FUSED.groupedMatMul, (addon, args) => {
  const [x, w] = [input(args, 'x'), input(args, 'w')];
  const { K, N, M, gs, b } = prologue(FUSED.groupedMatMul, args, x, w);
  const out = b.makeOutput([M, N], 'float32');
  const [xo, wo, oo] = [x, w, out].map((t) => offsetOf(b, t));
  for (const [e, off, c] of gs)
    gemm(addon, b.wasm.HEAPU8, 0, 0, c, N, K, xo + 4 * off * K, wo + 4 * e * K * N, oo + 4 * off * N);
  return out;
});

/** dy [M, N], x [M, K], w [E, K, N], attrs.sizes -> dx [M, K] = dy_g w_e^T, dw [E, K, N] = x_g^T dy_g */
const backward = factory(FUSED.groupedMatMulGrad, (addon, args) => {
  const [dy, x, w] = ['dy', 'x', 'w'].map((n) => input(args, n));
  const { E, K, N, M, gs, b } = prologue(FUSED.groupedMatMulGrad, args, x, w, dy);
  const dx = b.makeOutput([M, K], 'float32');
  const dw = b.makeOutput([E, K, N], 'float32');
  f32(b, dw).fill(0); // experts that got no rows
  const [dyo, xo, wo, dxo, dwo] = [dy, x, w, dx, dw].map((t) => offsetOf(b, t));
  const heap = b.wasm.HEAPU8;
  for (const [e, off, c] of gs) {
    gemm(addon, heap, 0, 1, c, K, N, dyo + 4 * off * N, wo + 4 * e * K * N, dxo + 4 * off * K);
    gemm(addon, heap, 1, 0, K, N, c, xo + 4 * off * K, dyo + 4 * off * N, dwo + 4 * e * K * N);
  }
  return [dx, dw];
});

export const groupedKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  [FUSED.groupedMatMul, forward],
  [FUSED.groupedMatMulGrad, backward],
];
