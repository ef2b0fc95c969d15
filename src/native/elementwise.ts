/**
 * Moved to src/backend/native/elementwise.ts (issue 14, "Compute as one stage"). This re-export
 * keeps src/native/fused-kernels.ts compiling until it moves beside it; then delete this file.
 */
export * from '../backend/native/elementwise.js';
