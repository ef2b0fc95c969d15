/**
 * Moved to src/backend/native/addon.ts (issue 14, "Compute as one stage"). This re-export keeps
 * src/native/fused-kernels.ts compiling until it moves beside it; then delete this file.
 */
export * from '../backend/native/addon.js';
