/**
 * SwiGLU FFN: down(SiLU(x Wg) * (x Wu)), with Wg and Wu fused as wgu: [d, 2h]. x: [N, d] -> [N, d].
 * swigluActivation is the middle part, SiLU(g) * u for gu = [g | u]: [N, 2h] -> [N, h], one fused
 * kernel when the native addon is active (src/native/fused.ts), else stock tf ops.
 */
export { swiglu, swigluActivation } from '../native/fused.js';
