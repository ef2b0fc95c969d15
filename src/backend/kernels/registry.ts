/**
 * Kernel overrides that stack: ours over tfjs's stock kernels, and a later module (the
 * native OpenBLAS addon, DESIGN "Compute") over ours, through the same `overrideKernel`.
 * The first kernel seen for a (name, backend) is kept as the stock one, so an override can
 * still delegate to it for the cases where it is already fast.
 */
import * as tf from '@tensorflow/tfjs';

const stock = new Map<string, tf.KernelConfig>();
const overrides = new WeakSet<tf.KernelConfig>();
const setUp = new WeakMap<object, Set<string>>();

function key(kernelName: string, backendName: string): string {
  return `${backendName}/${kernelName}`;
}

/**
 * Register `config` in place of whatever is registered for its (kernelName, backendName).
 * tfjs runs setupFunc only in setBackend, so if that backend is already up, run it here.
 */
export function overrideKernel(config: tf.KernelConfig): void {
  const { kernelName, backendName } = config;
  const existing = tf.getKernel(kernelName, backendName);
  if (existing != null) {
    if (!stock.has(key(kernelName, backendName))) stock.set(key(kernelName, backendName), existing);
    tf.unregisterKernel(kernelName, backendName);
  }
  tf.registerKernel(config);
  overrides.add(config);
  const instance = tf.findBackend(backendName);
  if (instance != null && config.setupFunc != null) config.setupFunc(instance);
}

/**
 * The kernel tfjs shipped for (kernelName, backendName), or undefined if it had none.
 * Its setupFunc is run once per backend instance before it is handed out, because an
 * override registered before setBackend keeps tfjs from ever setting it up.
 */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const k = key(kernelName, backendName);
  const current = tf.getKernel(kernelName, backendName);
  const config = stock.get(k) ?? (current != null && !overrides.has(current) ? current : undefined);
  if (config == null) return undefined;
  const instance = tf.findBackend(backendName);
  if (config.setupFunc != null && instance != null) {
    let done = setUp.get(instance);
    if (done == null) {
      done = new Set();
      setUp.set(instance, done);
    }
    if (!done.has(k)) {
      config.setupFunc(instance);
      done.add(k);
    }
  }
  return config;
}

/** Names of kernels registered for a backend (for logs and tests). */
export function kernelNames(backendName: string): string[] {
  return tf.getKernelsForBackend(backendName).map((k) => k.kernelName);
}
