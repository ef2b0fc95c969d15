/**
 * engram-sweep as a library: the stages of the pipeline (DESIGN.md), for notebooks and other
 * programs. Each stage takes and returns plain JSON-serialisable data.
 */
export { InputError, inputError } from './contract/errors.js';
export {
  appendMetrics,
  buildResult,
  failedResult,
  lastMetricsRow,
  readFitsFile,
  readGates,
  readMetricsFile,
  readProgress,
  readResult,
  readSweepRecord,
  readTrialConfig,
  trialDir,
  writeGates,
  writeResult,
  writeTrialConfig,
} from './contract/index.js';
export type {
  GatesFile,
  HorizonResult,
  MetricsRow,
  SweepRecord,
  TrialConfigFile,
  TrialResult,
} from './contract/index.js';
export { loadCorpus, splitCorpus } from './data/corpus.js';
export { prepareDataset } from './data/dataset.js';
export { trainBpe } from './data/bpe/train.js';
export { BpeTokenizer } from './data/bpe/encode.js';
export { loadVocab } from './data/vocab.js';
export { buildCompression, compressIds, compressionStats, normalizeKey } from './data/compress.js';
export { layerMultipliers } from './hash/multipliers.js';
export { tableSizes } from './hash/primes.js';
export { computeMix, mixToIndices, hashIds } from './hash/ngram.js';
export { hashIdsBigInt } from './hash/reference.js';
export { HostTable } from './memory/tables.js';
export { SparseAdam } from './memory/sparse-adam.js';
export { account } from './model/accounting.js';
export type { ModelConfig, MoeConfig, EngramConfig, HashedMemoryConfig } from './model/config.js';
export { Transformer } from './model/transformer.js';
export { engram64 } from './model/engram64.js';
export { initBackend } from './backend/index.js';
export { parseTrial, TrialSchema } from './train/config.js';
export type { TrialConfig } from './train/config.js';
export { runTrial } from './train/trial.js';
export { trialId } from './train/trial-id.js';
export { budgetTotal, solveAllocation } from './budget/solve.js';
export { budgetRows } from './sweep/budget-table.js';
export { loadSweep, expandTrials } from './sweep/spec.js';
export { SweepSchema } from './sweep/schema.js';
export { runLocal } from './sweep/local.js';
export { runSweep } from './sweep/run.js';
export type {
  AfterSweepContext,
  AfterSweepStep,
  RunSweepOptions,
  SweepExecutor,
  SweepOutcome,
  SweepRunResult,
} from './sweep/run.js';
export { fitsAndReport } from './sweep/after.js';
export { readPlanFile } from './sweep/plan-file.js';
export { selectTrials, parseSelection } from './sweep/select.js';
export { sweepStatus } from './sweep/status.js';
export { readTrialRows, trialsTable, readMetrics } from './results/table.js';
export {
  fitSweep,
  fitDataset,
  fitUshape,
  fitPowerlaw,
  slotMultiple,
  tableDataset,
  sweepDatasets,
} from './fit/index.js';
export type { FitResult, FitsFile, UshapeGroup, PowerlawGroup } from './fit/index.js';
export { writeReport, buildReport } from './report/index.js';
export { bundleSweep, writeBundle, downsample } from './results/bundle.js';
export type { Bundle } from './results/bundle.js';
