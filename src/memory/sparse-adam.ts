/**
 * Lazy Adam for host tables with the semantics of PyTorch's SparseAdam (docs/SPEC.md section 3.5):
 * gradients of duplicate rows are summed first (coalesce), only rows present in the step have
 * their moments and weights updated, bias correction uses the optimizer's single step count
 * (torch keeps state['step'] per parameter tensor, and the whole row space is one tensor), and
 * there is no weight decay. The arithmetic follows torch.optim._functional.sparse_adam:
 *   mu = (g - m) (1 - b1);  m += mu;  vu = (g^2 - v) (1 - b2);  v += vu
 *   denom = sqrt(v) + eps;  step_size = lr sqrt(1 - b2^t) / (1 - b1^t);  w += -step_size (m / denom)
 * computed in float64 and stored as float32.
 *
 * Memory: both moments are allocated up front as zero tables with the weights' sharded layout,
 * so training holds 12 bytes per parameter (TRAINING_BYTES_PER_PARAM) from the first step and
 * the executor's RSS estimate is exact. Scratch space is sized by the lookups of a step, never by
 * the table, so a step costs O(lookups * D_h) whatever the table size.
 */
import { InputError, show } from '../contract/errors.js';
import { globalRows } from './gather.js';
import type { HostTable } from './tables.js';

export interface SparseAdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

const WHERE = 'SparseAdam';

/**
 * coalesce + prefetch + update of SparseAdam.step in one call, or null (the JS loops below). The
 * compute stage sets it when the native addon is on (backend/native/index.ts); it must give the
 * same bits. Arguments: the weight and moment shards, rowsPerShard, dim, the validated global
 * rows of the n lookups, their gradients [n, dim], stepSize, 1 - beta1, 1 - beta2, eps, and
 * SparseAdam's scratch (uniq, acc, keys, slots: see grow), so a step allocates nothing.
 */
export type RowAdamKernel = (
  w: Float32Array[],
  m: Float32Array[],
  v: Float32Array[],
  rowsPerShard: number,
  dim: number,
  rows: Int32Array,
  n: number,
  grad: Float32Array,
  stepSize: number,
  c1: number,
  c2: number,
  eps: number,
  uniq: Int32Array,
  acc: Float64Array,
  keys: Int32Array,
  slots: Int32Array,
) => number;

let rowAdam: RowAdamKernel | null = null;

export function setRowAdamKernel(fn: RowAdamKernel | null): void {
  rowAdam = fn;
}

const GOLDEN = 0x9e3779b1; // Fibonacci hashing of row ids into the coalescing table

export class SparseAdam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** first moment (exp_avg), same layout as the table */
  readonly expAvg: HostTable;
  /** second moment (exp_avg_sq), same layout as the table */
  readonly expAvgSq: HostTable;
  /** steps taken, t in the bias corrections (torch's state['step']); settable for a resume */
  stepCount = 0;

  // Scratch, grown to the largest step seen.
  private rows = new Int32Array(0); // global row of each lookup
  private uniq = new Int32Array(0); // distinct rows, in order of first appearance
  private acc = new Float64Array(0); // summed gradient of each distinct row, [uniq, dim]
  private keys = new Int32Array(0); // open-addressing hash: row id or -1
  private slots = new Int32Array(0); // index into uniq for each occupied key
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: written only, keeps the prefetch pass observable
  private sink = 0;

  constructor(
    readonly table: HostTable,
    opts: SparseAdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    checkUnit('beta1', this.beta1);
    checkUnit('beta2', this.beta2);
    if (!(Number.isFinite(this.eps) && this.eps >= 0)) {
      throw new InputError(WHERE, `eps ${show(this.eps)} must be a finite number >= 0`, 'eps');
    }
    this.expAvg = table.zerosLike();
    this.expAvgSq = table.zerosLike();
  }

  /** Bytes held by the two moments (the weights are the table's). */
  bytes(): number {
    return this.expAvg.bytes() + this.expAvgSq.bytes();
  }

  /**
   * One step. gradRows is d(loss)/d(gathered rows), the shape of gatherRows' output:
   * [B*T, tablesPerPos * D_h], i.e. lookup i's gradient at gradRows[i*D_h ..].
   */
  step(hashIds: Int32Array, tablesPerPos: number, gradRows: Float32Array, lr: number): void {
    const n = hashIds.length;
    const dim = this.table.dim;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new InputError(WHERE, `learning rate ${show(lr)} must be a finite number >= 0`, 'lr');
    }
    if (gradRows.length !== n * dim) {
      throw new InputError(
        WHERE,
        `gradRows has ${gradRows.length} floats, expected ${n} lookups x dim ${dim} = ${n * dim}`,
      );
    }
    this.grow(n);
    globalRows(this.table, hashIds, tablesPerPos, this.rows, `${WHERE}.step`);
    // torch increments state['step'] before the update, also for an empty gradient
    this.stepCount++;
    const t = this.stepCount;
    const stepSize = (lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    if (rowAdam) {
      const { table, expAvg, expAvgSq } = this;
      rowAdam(
        table.shards,
        expAvg.shards,
        expAvgSq.shards,
        table.rowsPerShard,
        dim,
        this.rows,
        n,
        gradRows,
        stepSize,
        1 - this.beta1,
        1 - this.beta2,
        this.eps,
        this.uniq,
        this.acc,
        this.keys,
        this.slots,
      );
      return;
    }
    const nUniq = this.coalesce(n, gradRows);
    this.prefetch(nUniq);
    this.update(nUniq, stepSize);
  }

  /** Sum the gradients of duplicate rows; returns the number of distinct rows. */
  private coalesce(n: number, grad: Float32Array): number {
    const { rows, uniq, acc, keys, slots } = this;
    const dim = this.table.dim;
    const cap = keys.length;
    const mask = cap - 1;
    const shift = 32 - Math.log2(cap);
    keys.fill(-1);
    let nUniq = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      let h = Math.imul(r, GOLDEN) >>> shift;
      while (keys[h] !== -1 && keys[h] !== r) h = (h + 1) & mask;
      const g = i * dim;
      if (keys[h] === -1) {
        keys[h] = r;
        const u = nUniq++;
        slots[h] = u;
        uniq[u] = r;
        const a = u * dim;
        for (let d = 0; d < dim; d++) acc[a + d] = grad[g + d];
      } else {
        const a = slots[h] * dim;
        for (let d = 0; d < dim; d++) acc[a + d] += grad[g + d];
      }
    }
    return nUniq;
  }

  /**
   * Touch the first float of every row's weights and moments in a tight loop. In large tables
   * these are cache (and TLB) misses; a small loop body lets the CPU overlap many of them, where
   * the update loop would take them one row at a time. Keeps step time flat in table size.
   */
  private prefetch(nUniq: number): void {
    const { uniq } = this;
    const { dim, rowsPerShard } = this.table;
    const w = this.table.shards,
      m = this.expAvg.shards,
      v = this.expAvgSq.shards;
    let sum = 0;
    for (let u = 0; u < nUniq; u++) {
      const r = uniq[u];
      const s = (r / rowsPerShard) | 0;
      const a = (r - s * rowsPerShard) * dim;
      sum += w[s][a] + m[s][a] + v[s][a];
    }
    this.sink = sum;
  }

  private update(nUniq: number, stepSize: number): void {
    const { uniq, acc } = this;
    const { dim, rowsPerShard } = this.table;
    const w = this.table.shards,
      m = this.expAvg.shards,
      v = this.expAvgSq.shards;
    const c1 = 1 - this.beta1,
      c2 = 1 - this.beta2,
      eps = this.eps;
    for (let u = 0; u < nUniq; u++) {
      const r = uniq[u];
      const s = (r / rowsPerShard) | 0;
      const ws = w[s],
        ms = m[s],
        vs = v[s];
      const a = (r - s * rowsPerShard) * dim;
      const b = u * dim;
      for (let d = 0; d < dim; d++) {
        const g = acc[b + d];
        const om = ms[a + d],
          ov = vs[a + d];
        const mu = (g - om) * c1; // exp_avg_update_values
        const vu = (g * g - ov) * c2; // exp_avg_sq_update_values
        ms[a + d] = om + mu;
        vs[a + d] = ov + vu;
        const denom = Math.sqrt(vu + ov) + eps;
        ws[a + d] += -stepSize * ((mu + om) / denom);
      }
    }
  }

  private grow(n: number): void {
    const dim = this.table.dim;
    if (this.rows.length < n) {
      this.rows = new Int32Array(n);
      this.uniq = new Int32Array(n);
      this.acc = new Float64Array(n * dim);
    }
    // load factor <= 1/2; at least 2 slots so the shift stays < 32
    let cap = 2;
    while (cap < 2 * n) cap *= 2;
    if (this.keys.length < cap) {
      this.keys = new Int32Array(cap);
      this.slots = new Int32Array(cap);
    }
  }
}

function checkUnit(name: string, b: number): void {
  if (!(Number.isFinite(b) && b >= 0 && b < 1)) {
    throw new InputError(WHERE, `${name} ${show(b)} must be in [0, 1)`, name);
  }
}
