/**
 * The whole training state of a trial at a step, on disk: the backbone's weights and AdamW
 * moments and step, the router biases, each memory's table rows with their lazy-Adam moments and
 * step, the metrics logged so far and the horizons finished. The data cursor and every random
 * stream are functions of (seed, step), so the step restores them. The horizons trainer writes one
 * at each branch point, restores it after the branch's cooldown, and an interrupted trial resumes
 * from it.
 *
 * Layout of <trial>/snapshot/: state.json (scalars, the array list) and state.bin (the float32
 * arrays in that order). It is written to snapshot.tmp/ and swapped in with renames, so a kill
 * leaves the old snapshot or the new one.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { HorizonResult } from '../contract/results.js';
import type { Transformer } from '../model/transformer.js';
import type { AdamW } from './adamw.js';
import type { HashedMemory } from './memory-bank.js';

export const SNAPSHOT_DIR = 'snapshot';

/** Who may resume from a snapshot: the same trial on the same compute path (DESIGN: determinism). */
export interface SnapshotKey {
  trialId: string;
  backend: string;
  native: boolean;
  threads: number;
}

export interface SnapshotInfo {
  key: SnapshotKey;
  /** the next step to train on the stable trunk (a branch point) */
  step: number;
  /** horizons finished before this branch point */
  horizons: HorizonResult[];
  /** training seconds before this snapshot (a resumed trial's clock continues from here) */
  seconds: number;
  /** metrics.jsonl as it was at this step */
  metrics: string;
}

interface StateJson extends Omit<SnapshotInfo, 'metrics'> {
  format: 'engram-sweep-snapshot';
  version: 1;
  adamStep: number;
  tableSteps: number[];
  /** [name, float32 count] in the order of state.bin */
  arrays: [string, number][];
}

export interface TrainingState {
  model: Transformer;
  opt: AdamW;
  memories: HashedMemory[];
}

/**
 * Every float32 array of the state, named, in a fixed order. `weights` and `adam` are the
 * backbone's values and moments (copies: tfjs owns the live ones); the router biases and the
 * memories' rows and moments are the live arrays.
 */
function arrays(
  s: TrainingState,
  weights: Float32Array[],
  adam: { m: Float32Array[]; v: Float32Array[] },
): [string, Float32Array][] {
  const names = [...s.model.weights.vars.keys()];
  const out: [string, Float32Array][] = [];
  names.forEach((n, i) => out.push([`w:${n}`, weights[i]], [`m:${n}`, adam.m[i]], [`v:${n}`, adam.v[i]]));
  s.model.routers.forEach((r, l) => out.push([`bias:${l}`, r.bias]));
  for (const m of s.memories) {
    const shards = (t: { shards: Float32Array[] }, tag: string) =>
      t.shards.forEach((a, i) => out.push([`${tag}:${m.key}:${i}`, a]));
    shards(m.table, 'rows');
    shards(m.adam.expAvg, 'rowsM');
    shards(m.adam.expAvgSq, 'rowsV');
  }
  return out;
}

export function writeSnapshot(trialDir: string, s: TrainingState, info: SnapshotInfo): void {
  const tmp = join(trialDir, `${SNAPSHOT_DIR}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const vars = s.model.weights.list();
  const adam = s.opt.state(vars);
  const list = arrays(
    s,
    vars.map((p) => p.dataSync() as Float32Array),
    adam,
  );
  const fd = openSync(join(tmp, 'state.bin'), 'w');
  try {
    for (const [, a] of list) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } finally {
    closeSync(fd);
  }
  const { metrics, ...rest } = info;
  const state: StateJson = {
    format: 'engram-sweep-snapshot',
    version: 1,
    ...rest,
    adamStep: adam.t,
    tableSteps: s.memories.map((m) => m.adam.stepCount),
    arrays: list.map(([n, a]) => [n, a.length]),
  };
  writeFileSync(join(tmp, 'metrics.jsonl'), metrics);
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state) + '\n');
  const dir = join(trialDir, SNAPSHOT_DIR);
  const old = join(trialDir, `${SNAPSHOT_DIR}.old`);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The snapshot's scalars, or null when there is none or it belongs to another trial or path. */
export function readSnapshotInfo(trialDir: string, key: SnapshotKey): SnapshotInfo | null {
  const dir = join(trialDir, SNAPSHOT_DIR);
  let st: StateJson;
  try {
    st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateJson;
  } catch {
    return null;
  }
  const k = st.key;
  if (
    st.format !== 'engram-sweep-snapshot' ||
    k.trialId !== key.trialId ||
    k.backend !== key.backend ||
    k.native !== key.native ||
    k.threads !== key.threads
  )
    return null;
  return {
    key: k,
    step: st.step,
    horizons: st.horizons,
    seconds: st.seconds,
    metrics: readFileSync(join(dir, 'metrics.jsonl'), 'utf8'),
  };
}

/** Load the snapshot's arrays into the live state (same model, same memories). */
export function restoreSnapshot(trialDir: string, s: TrainingState): void {
  const dir = join(trialDir, SNAPSHOT_DIR);
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateJson;
  const vars = s.model.weights.list();
  const adam = {
    t: st.adamStep,
    m: vars.map((p) => new Float32Array(p.size)),
    v: vars.map((p) => new Float32Array(p.size)),
  };
  const weights = vars.map((p) => new Float32Array(p.size));
  const list = arrays(s, weights, adam);
  if (
    list.length !== st.arrays.length ||
    list.some(([n, a], i) => n !== st.arrays[i][0] || a.length !== st.arrays[i][1])
  ) {
    throw new Error(`${dir}: the snapshot does not match this trial's model (arrays differ)`);
  }
  const fd = openSync(join(dir, 'state.bin'), 'r');
  try {
    for (const [, a] of list) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let off = 0; off < bytes.length; ) off += readSync(fd, bytes, off, bytes.length - off, null);
    }
  } finally {
    closeSync(fd);
  }
  [...s.model.weights.vars.keys()].forEach((n, i) => s.model.weights.assign(n, weights[i]));
  s.opt.restore(vars, adam);
  s.memories.forEach((m, i) => (m.adam.stepCount = st.tableSteps[i]));
}

/** The step a trial folder's snapshot resumes at, or null without one (for status: no path check). */
export function snapshotStep(trialDir: string): number | null {
  try {
    const st = JSON.parse(readFileSync(join(trialDir, SNAPSHOT_DIR, 'state.json'), 'utf8')) as StateJson;
    return Number.isInteger(st.step) ? st.step : null;
  } catch {
    return null;
  }
}
