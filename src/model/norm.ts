/**
 * RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w over the last axis. x: [..., d], w: [d].
 * One fused kernel forward and one backward when the native addon is active; otherwise the
 * same math in stock tf ops (src/native/fused.ts holds both).
 */
export { rmsNorm } from '../native/fused.js';
