/**
 * The names of the results contract (DESIGN.md): a sweep's folder results/<sweep>/ holds
 * sweep.json, fits.json and trials/<id>/, and each trial folder holds config.json,
 * metrics.jsonl, gates.json, progress.json (a remote trial's progress) and result.json.
 */
import { join } from 'node:path';

export const SWEEP_FILE = 'sweep.json';
export const FITS_FILE = 'fits.json';
export const TRIALS_DIR = 'trials';
export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const RESULT_FILE = 'result.json';
export const GATES_FILE = 'gates.json';
export const PROGRESS_FILE = 'progress.json';

/** results/<sweep>/trials/<id> */
export const trialDir = (sweepDir: string, id: string): string => join(sweepDir, TRIALS_DIR, id);
