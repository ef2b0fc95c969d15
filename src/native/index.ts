/**
 * Moved to src/backend/native/index.ts (issue 14, "Compute as one stage"); the way in is
 * src/backend/index.ts. This re-export keeps src/train and src/model importers compiling until
 * they import from src/backend/index.ts; then delete this file.
 */
export * from '../backend/native/index.js';
