/**
 * Temp file + rename writes live in the contract layer (src/contract/atomic.ts), beneath every
 * stage; re-exported here with the cache folder that the caches write to with them.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { writeFileAtomic, writeJsonAtomic } from '../contract/atomic.js';

/** <repo>/.cache: this file sits at <repo>/{src,dist}/util/. */
export const CACHE_DIR =
  process.env.ENGRAM_SWEEP_CACHE ?? join(dirname(fileURLToPath(import.meta.url)), '../../.cache');
