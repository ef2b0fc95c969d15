/**
 * Per-kernel time of a training step: every kernel registered for the backend is wrapped with a
 * timer. Only outermost calls count (a kernel that calls another, e.g. our Exp calling Sigmoid,
 * is charged once), so the kernel times add up to at most the step; the rest of the step is
 * tfjs' engine (tape, bookkeeping), the trainer's JS and the host-side memory work.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelProfiler {
  /** ms per kernel name since the last reset */
  snapshot(): Map<string, { ms: number; calls: number }>;
  reset(): void;
}

let installed: { backend: string; profiler: KernelProfiler } | null = null;

/**
 * Wrap the kernels of `backendName` (once per process; later calls return the same profiler).
 * Install after every kernel override: a kernel registered later is not timed.
 */
export function installKernelProfiler(backendName: string): KernelProfiler {
  if (installed) {
    if (installed.backend !== backendName) throw new Error(`the profiler is already on ${installed.backend}`);
    return installed.profiler;
  }
  const stats = new Map<string, { ms: number; calls: number }>();
  let depth = 0;
  for (const k of tf.getKernelsForBackend(backendName)) {
    const inner = k.kernelFunc;
    const timed = ((args: Parameters<tf.KernelFunc>[0]) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        depth--;
        const s = stats.get(k.kernelName) ?? { ms: 0, calls: 0 };
        s.ms += performance.now() - t0;
        s.calls++;
        stats.set(k.kernelName, s);
      }
    }) as tf.KernelFunc;
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc: timed });
  }
  const profiler: KernelProfiler = { snapshot: () => new Map(stats), reset: () => stats.clear() };
  installed = { backend: backendName, profiler };
  return profiler;
}

/**
 * Kernel ms per step, largest first, plus "(other)": step time not spent in a kernel. Kernels
 * under 1% of the step are summed into "(small kernels)" to keep the line short.
 */
export function profilePerStep(
  stats: Map<string, { ms: number }>,
  steps: number,
  stepMs: number,
): Record<string, number> {
  const rows = [...stats].map(([name, s]) => [name, s.ms / steps] as const).sort((a, b) => b[1] - a[1]);
  const out: Record<string, number> = {};
  let kernels = 0;
  let small = 0;
  for (const [name, ms] of rows) {
    kernels += ms;
    if (ms >= stepMs / 100) out[name] = round(ms);
    else small += ms;
  }
  if (small > 0) out['(small kernels)'] = round(small);
  out['(other)'] = round(Math.max(0, stepMs - kernels));
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;
