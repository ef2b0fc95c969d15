/**
 * The distributed executor (DESIGN: Execution), in three parts: ./redis/protocol.ts (keys, queue
 * names, job payloads), ./redis/connection.ts (URL check, connection) and ./redis/coordinator.ts
 * (enqueue, collect, write results/). This file is their one way in.
 */
export {
  isResult,
  parseFailure,
  queueName,
  REGISTRY_KEY,
  TRIAL_FILES,
} from './redis/protocol.js';
export type { TrialJobData, TrialJobProgress, TrialJobResult } from './redis/protocol.js';
export { connectRedis, parseRedisUrl } from './redis/connection.js';
export { CollectError, runRedis, writeCollected } from './redis/coordinator.js';
export type { RedisRun, RedisRunOptions } from './redis/coordinator.js';
