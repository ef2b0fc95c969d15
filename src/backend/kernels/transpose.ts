/**
 * Transpose for the wasm backend, in TypeScript over the wasm heap.
 *
 * The stock kernel walks every element through a generic N-D index: ~40 ms for the 5-D
 * [B, T, 3, H, Dh] -> [3, B, H, T, Dh] split of fused QKV at B=16, T=128, d=128, and
 * ~6 ms for a 2048 x 384 matrix. Here the permutation is first simplified (size-1 axes
 * dropped, input axes that stay neighbours merged), then either contiguous runs are copied
 * (the last axis stays last: head split/merge) or the last two output axes are walked in
 * cache-sized tiles.
 */
import * as tf from '@tensorflow/tfjs';
import { type HeapArray, type KernelArgs, asWasm, copyRun, heapView, input } from './wasm-util.js';

type Arr = HeapArray;

/** Drop size-1 axes and merge input axes that stay adjacent and in order in the output. */
export function simplifyPermutation(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = shape.map((d) => d !== 1);
  const renumber: number[] = [];
  let n = 0;
  for (let i = 0; i < shape.length; i++) renumber[i] = keep[i] ? n++ : -1;
  const s1 = shape.filter((_, i) => keep[i]);
  const p1 = perm.filter((a) => keep[a]).map((a) => renumber[a]);
  // Merge runs: output axes k, k+1 whose input axes are p, p+1.
  const groups: number[][] = [];
  for (const a of p1) {
    const g = groups[groups.length - 1];
    if (g != null && g[g.length - 1] + 1 === a) g.push(a);
    else groups.push([a]);
  }
  const order = groups.map((g) => g[0]).sort((x, y) => x - y);
  const shapeOut = order.map((first) => {
    const g = groups.find((gr) => gr[0] === first)!;
    return g.reduce((acc, a) => acc * s1[a], 1);
  });
  const permOut = groups.map((g) => order.indexOf(g[0]));
  return { shape: shapeOut, perm: permOut };
}

/** out = x.transpose(perm) for a simplified (shape, perm); rank >= 2, perm not identity. */
export function transposeInto(out: Arr, x: Arr, shape: number[], perm: number[]): void {
  const r = shape.length;
  const strides = new Array<number>(r);
  strides[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const outShape = perm.map((a) => shape[a]);
  const inStride = perm.map((a) => strides[a]); // input stride of each output axis
  // The last two output axes form the inner 2-D block; the rest are walked by counters.
  const rows = outShape[r - 2];
  const cols = outShape[r - 1];
  const sRow = inStride[r - 2];
  const sCol = inStride[r - 1];
  const outer = outShape.slice(0, r - 2);
  const outerStride = inStride.slice(0, r - 2);
  const counter = new Array<number>(outer.length).fill(0);
  const nOuter = outer.reduce((a, b) => a * b, 1);
  let base = 0;
  let o = 0;
  for (let k = 0; k < nOuter; k++) {
    if (sCol === 1) {
      for (let i = 0; i < rows; i++, o += cols) copyRun(out, o, x, base + i * sRow, cols);
    } else {
      tile(out, x, o, base, rows, cols, sRow, sCol);
      o += rows * cols;
    }
    for (let d = outer.length - 1; d >= 0; d--) {
      base += outerStride[d];
      if (++counter[d] < outer[d]) break;
      base -= outerStride[d] * outer[d];
      counter[d] = 0;
    }
  }
}

const TILE = 32;

function tile(out: Arr, x: Arr, o: number, base: number, rows: number, cols: number, sRow: number, sCol: number): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const src = base + i * sRow;
        const dst = o + i * cols;
        for (let j = j0; j < j1; j++) out[dst + j] = x[src + j * sCol];
      }
    }
  }
}

function transposeKernel(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const perm = (args.attrs?.perm ?? []) as number[];
  const outShape = perm.map((a) => x.shape[a]);
  if (x.dtype === 'string' || x.dtype === 'complex64')
    throw new Error(`Transpose: ${x.dtype} is not supported on wasm`);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(x.shape) === 0) return out;
  const s = simplifyPermutation(x.shape, perm);
  const xs = heapView(backend, x);
  const os = heapView(backend, out);
  if (s.shape.length < 2) os.set(xs);
  else transposeInto(os, xs, s.shape, s.perm);
  return out;
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: 'Transpose',
  backendName: 'wasm',
  kernelFunc: transposeKernel as unknown as tf.KernelFunc,
};
