/**
 * The contract layer, beneath every stage (DESIGN.md): the error type, atomic writes, and the
 * results contract: file names, types, and one reader and one writer per file. It imports
 * nothing of the suite.
 */
export { InputError, inputError, show } from './errors.js';
export { writeFileAtomic, writeJsonAtomic } from './atomic.js';
export * from './files.js';
export type { HorizonResult, MetricsRow, TrialResult } from './results.js';
export { appendMetrics, lastMetricsRow, readMetricsFile } from './metrics.js';
export { buildResult, failedResult, readResult, writeResult } from './result.js';
export type { FailureReason, ResultOutcome, ResultRun, RunBackend } from './result.js';
export { readTrialConfig, writeTrialConfig } from './config-file.js';
export type { TrialConfigFile, TrialMetaFile } from './config-file.js';
export { readGates, writeGates } from './gates.js';
export type { GatesFile } from './gates.js';
export { readProgress, removeProgress, writeProgress } from './progress.js';
export type { RemoteProgress } from './progress.js';
export { readSweepRecord, writeSweepRecord } from './sweep-file.js';
export type { SweepRecord, SweepVersion } from './sweep-file.js';
export { readFitsFile, writeFitsFile } from './fits-file.js';
export type { FitsFile } from './fits-file.js';
