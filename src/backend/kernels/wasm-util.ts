/**
 * Zero-copy access to tensors of the tfjs wasm backend, for kernels written in TypeScript.
 *
 * The wasm backend keeps every tensor in its heap at `dataIdMap.get(dataId).memoryOffset`
 * (FIELD-NOTES, TensorFlow.js). The heap can grow during any allocation, which detaches
 * every view made before: take views only after the last allocation of a kernel call, and
 * never keep one between calls.
 */
import * as tf from '@tensorflow/tfjs';

type DataId = object;

/** The parts of the emscripten module that the kernels use. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: string | null, args: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

interface TensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
}

/** The parts of `BackendWasm` (tfjs-backend-wasm 4.22) that the kernels use. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: DataId): TensorData | undefined };
  /** Next free tensor id; private in tfjs, shared here so views never collide with tensors. */
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/** The backend argument of a kernel function, seen as the wasm backend. */
export function asWasm(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend>;
  if (b == null || b.wasm == null || b.dataIdMap == null || typeof b.makeOutput !== 'function') {
    throw new Error('kernel registered for wasm was called with another backend');
  }
  return b as WasmBackend;
}

function data(backend: WasmBackend, t: tf.TensorInfo): TensorData {
  const d = backend.dataIdMap.get(t.dataId);
  if (d == null) throw new Error('tensor is not on the wasm backend (disposed?)');
  return d;
}

/** The wasm-side id of a tensor (what the C++ kernels take). */
export function tensorId(backend: WasmBackend, t: tf.TensorInfo): number {
  return data(backend, t).id;
}

/** Byte offset of a tensor's first element in the wasm heap. */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return data(backend, t).memoryOffset;
}

/** A Float32Array over a float32 tensor's memory; valid until the next heap allocation. */
export function f32(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected float32, got ${t.dtype}`);
  const size = tf.util.sizeFromShape(t.shape);
  return new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), size);
}

/** An Int32Array over an int32 tensor's memory; valid until the next heap allocation. */
export function i32(backend: WasmBackend, t: tf.TensorInfo): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`expected int32, got ${t.dtype}`);
  const size = tf.util.sizeFromShape(t.shape);
  return new Int32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), size);
}

/**
 * Register `size` elements at heap byte `offset` as a tensor id of the C++ side, so its
 * kernels can run on a slice of a larger tensor without a copy. Release with `releaseView`:
 * that also drops operators XNNPACK cached for the id (batch_mat_mul_impl.cc caches the
 * packed weights per b tensor id).
 */
export function registerView(backend: WasmBackend, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

export function releaseView(backend: WasmBackend, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** Free an intermediate made inside a kernel. */
export function disposeInfo(backend: WasmBackend, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId);
}

/**
 * Run the kernel registered now for `name` on wasm (stock or an override) from inside
 * another kernel. Outputs belong to the caller, who disposes them.
 */
export function callKernel(
  backend: WasmBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel == null) throw new Error(`kernel ${name} is not registered for wasm`);
  const out = kernel.kernelFunc({ inputs, attrs, backend: backend as unknown as tf.KernelBackend });
  return Array.isArray(out) ? out[0] : out;
}

/**
 * A C++ function of the wasm module, wrapped once per module instance. Kernels registered
 * after `tf.setBackend` never get their setupFunc called, so they wrap lazily.
 */
const wrapped = new WeakMap<WasmModule, Map<string, (...args: unknown[]) => unknown>>();

export function cFunction(backend: WasmBackend, name: string, args: string[]): (...args: unknown[]) => unknown {
  let byName = wrapped.get(backend.wasm);
  if (byName == null) {
    byName = new Map();
    wrapped.set(backend.wasm, byName);
  }
  let fn = byName.get(name);
  if (fn == null) {
    fn = backend.wasm.cwrap(name, null, args);
    byName.set(name, fn);
  }
  return fn;
}

/** Int32 shape bytes for a cwrap 'array' argument. */
export function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** What tfjs passes a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** A required input of a kernel call. */
export function input(args: KernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (t == null) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

export type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * A typed view over a float32, int32 or bool tensor's memory (bool is one byte per element
 * in the wasm backend); valid until the next heap allocation.
 */
export function heapView(backend: WasmBackend, t: tf.TensorInfo): HeapArray {
  const buf = backend.wasm.HEAPU8.buffer;
  const off = offsetOf(backend, t);
  const size = tf.util.sizeFromShape(t.shape);
  if (t.dtype === 'float32') return new Float32Array(buf, off, size);
  if (t.dtype === 'int32') return new Int32Array(buf, off, size);
  if (t.dtype === 'bool') return new Uint8Array(buf, off, size);
  throw new Error(`dtype ${t.dtype} has no heap view`);
}

/** Copy `n` elements; by hand for short runs, where subarray() costs more than the copy. */
export function copyRun(out: HeapArray, o: number, x: HeapArray, i: number, n: number): void {
  if (n >= 256) {
    out.set(x.subarray(i, i + n), o);
    return;
  }
  for (let j = 0; j < n; j++) out[o + j] = x[i + j];
}
