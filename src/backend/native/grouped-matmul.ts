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

/** x [M, K] (rows sorted by expert), w [E, K, N], attrs.sizes [E] -> [M, N] */
const forward = factory(FUSED.groupedMatMul, (addon, args) => {
  const x = input(args, 'x');
  const w = input(args, 'w');
  f32Only(FUSED.groupedMatMul, x, w);
  const [E, K, N] = w.shape;
  const M = x.shape[0];
  shapes(FUSED.groupedMatMul, x, w);
  const gs = groups((args.attrs as unknown as { sizes: number[] }).sizes, E, M, FUSED.groupedMatMul);
  const b = asWasm(args.backend);
  const out = b.makeOutput([M, N], 'float32');
  const [xo, wo, oo] = [offsetOf(b, x), offsetOf(b, w), offsetOf(b, out)];
  for (const [e, off, c] of gs)
    addon.sgemm(
      b.wasm.HEAPU8,
      1,
      0,
      0,
      c,
      N,
      K,
      1,
      xo + 4 * off * K,
      c * K,
      wo + 4 * e * K * N,
      K * N,
      0,
      oo + 4 * off * N,
      c * N,
    );
  return out;
});

/** dy [M, N], x [M, K], w [E, K, N], attrs.sizes -> dx [M, K] = dy_g w_e^T, dw [E, K, N] = x_g^T dy_g */
const backward = factory(FUSED.groupedMatMulGrad, (addon, args) => {
  const [dy, x, w] = ['dy', 'x', 'w'].map((n) => input(args, n));
  f32Only(FUSED.groupedMatMulGrad, dy, x, w);
  const [E, K, N] = w.shape;
  const M = x.shape[0];
  shapes(FUSED.groupedMatMulGrad, x, w, dy);
  const gs = groups((args.attrs as unknown as { sizes: number[] }).sizes, E, M, FUSED.groupedMatMulGrad);
  const b = asWasm(args.backend);
  const dx = b.makeOutput([M, K], 'float32');
  const dw = b.makeOutput([E, K, N], 'float32');
  f32(b, dw).fill(0); // experts that got no rows
  const [dyo, xo, wo, dxo, dwo] = [dy, x, w, dx, dw].map((t) => offsetOf(b, t));
  const heap = b.wasm.HEAPU8;
  for (const [e, off, c] of gs) {
    addon.sgemm(
      heap,
      1,
      0,
      1,
      c,
      K,
      N,
      1,
      dyo + 4 * off * N,
      c * N,
      wo + 4 * e * K * N,
      K * N,
      0,
      dxo + 4 * off * K,
      c * K,
    );
    addon.sgemm(
      heap,
      1,
      1,
      0,
      K,
      N,
      c,
      1,
      xo + 4 * off * K,
      c * K,
      dyo + 4 * off * N,
      c * N,
      0,
      dwo + 4 * e * K * N,
      K * N,
    );
  }
  return [dx, dw];
});

export const groupedKernels: readonly (readonly [string, NativeKernelFactory])[] = [
  [FUSED.groupedMatMul, forward],
  [FUSED.groupedMatMulGrad, backward],
];
