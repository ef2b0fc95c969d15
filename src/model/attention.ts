/**
 * Causal multi-head self-attention with RoPE. x: [B, T, d] -> [B, T, d].
 * wqkv: [d, 3d] (q, k, v heads laid out [3, H, dh]), wo: [d, d]; rope: the [T, dh] cos/sin tables.
 * Between the two projections it is one fused kernel forward and one backward when the native
 * addon is active (RoPE, scaled scores, causal mask, softmax, weighted sum); otherwise the same
 * math in stock tf ops (src/native/fused.ts holds both).
 */
export { attention } from '../native/fused.js';
