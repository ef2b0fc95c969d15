/**
 * Kernel overrides that stack: ours over tfjs's stock kernels, and a later module (the
 * native OpenBLAS addon, DESIGN "Compute") over ours, through the same `overrideKernel`.
 * The first kernel seen for a (name, backend) is kept as the stock one, so an override can
 * still delegate to it for the cases where it is already fast.
 */
import * as tf from '@tensorflow/tfjs';

const stock = new Map<string, tf.KernelConfig>();
const overrides = new WeakSet<tf.KernelConfig>();

function key(kernelName: string, backendName: string): string {
  return `${backendName}/${kernelName}`;
}

/**
 * The backend instance if it is already up. Not tf.findBackend: that starts initialising
 * a registered backend as a side effect (for wasm, a new emscripten module per call).
 */
function initializedBackend(backendName: string): tf.KernelBackend | undefined {
  const engine = tf.engine() as unknown as { registry: Record<string, tf.KernelBackend | undefined> };
  return engine.registry[backendName];
}

type Hook = NonNullable<tf.KernelConfig['setupFunc']>;

function chain(first: Hook | undefined, second: Hook | undefined): Hook | undefined {
  if (first == null) return second;
  if (second == null) return first;
  return (backend) => {
    first(backend);
    second(backend);
  };
}

/**
 * Register `config` in place of whatever is registered for its (kernelName, backendName).
 *
 * The replaced kernel's setupFunc and disposeFunc keep running (before ours): stock wasm
 * kernels call each other's module-level functions (Sum calls transpose, which is bound
 * only by Transpose's setupFunc), so dropping a stock setup breaks unrelated kernels.
 * tfjs runs setupFuncs only in setBackend; if the backend is already up, ours runs here.
 */
export function overrideKernel(config: tf.KernelConfig): void {
  const { kernelName, backendName } = config;
  const existing = tf.getKernel(kernelName, backendName);
  if (existing != null) {
    if (!stock.has(key(kernelName, backendName)) && !overrides.has(existing)) {
      stock.set(key(kernelName, backendName), existing);
    }
    tf.unregisterKernel(kernelName, backendName);
  }
  const registered: tf.KernelConfig = {
    ...config,
    setupFunc: chain(existing?.setupFunc, config.setupFunc),
    disposeFunc: chain(existing?.disposeFunc, config.disposeFunc),
  };
  tf.registerKernel(registered);
  overrides.add(registered);
  const instance = initializedBackend(backendName);
  if (instance != null && config.setupFunc != null) config.setupFunc(instance);
}

/** The kernel tfjs shipped for (kernelName, backendName), or undefined if it had none. */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const saved = stock.get(key(kernelName, backendName));
  if (saved != null) return saved;
  const current = tf.getKernel(kernelName, backendName);
  return current != null && !overrides.has(current) ? current : undefined;
}

/** Names of kernels registered for a backend (for logs and tests). */
export function kernelNames(backendName: string): string[] {
  return tf.getKernelsForBackend(backendName).map((k) => k.kernelName);
}
