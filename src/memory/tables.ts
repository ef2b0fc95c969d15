/**
 * Engram / OverEncoding tables in host memory (DESIGN.md "Compute": tables never live in tfjs;
 * the wasm heap tops out at 4 GiB, FIELD-NOTES.md). One HostTable is the row space of ONE
 * Engram layer: all its prime-sized tables back to back, order-major as in docs/SPEC.md section 2.6
 * [(n=2, heads 0..K-1), (n=3, heads 0..K-1), ...], offsets = running sums of the sizes. Rows
 * are D_h floats, so the reference's `multi_head_embedding.embedding.weight` [sum of primes, D_h]
 * maps row for row (docs/SPEC.md section 6).
 *
 * Storage: Float32Array shards of at most 1 GiB, whole rows only, so no row straddles a shard
 * and any shard can be written with one fs call (fs caps at 2 GiB per call).
 */
import { InputError, show } from '../contract/errors.js';

/** Default shard limit: 1 GiB (DESIGN.md "Compute"). */
export const MAX_SHARD_BYTES = 2 ** 30;
/** Host bytes per table parameter while training: weights + two Adam moments, float32 each. */
export const TRAINING_BYTES_PER_PARAM = 12;

export interface HostTableOptions {
  /** std of the N(0, std^2) init (docs/SPEC.md section 3.5: the reference uses 1.0). 0 gives zeros. */
  initStd: number;
  /** seed of the init stream; the values depend on (seed, rows, dim) only, not on sharding. */
  seed: number;
  /** shard limit in bytes (default 1 GiB); tests set it tiny to exercise many shards. */
  shardBytes?: number;
}

const WHERE = 'HostTable';

/**
 * Called on each new shard of an initialised table (not the zero tables of the optimizer's
 * moments) before its first write, or null. The compute stage sets it when the
 * native addon is on (backend/native/index.ts): transparent huge pages for big shards, so random
 * row reads of a multi-GB table miss the TLB less. It must not change the values.
 */
let adviseShard: ((shard: Float32Array) => void) | null = null;

export function setShardAdvice(fn: ((shard: Float32Array) => void) | null): void {
  adviseShard = fn;
}

export class HostTable {
  readonly sizes: readonly number[];
  readonly numTables: number;
  readonly dim: number;
  /** total rows = sum of sizes */
  readonly rows: number;
  /** offsets[j] = first global row of table j; offsets[numTables] = rows */
  readonly offsets: Float64Array;
  readonly rowsPerShard: number;
  /** shard s holds rows [s * rowsPerShard, ...), row-major, dim floats per row */
  readonly shards: Float32Array[];

  constructor(sizes: readonly number[], dim: number, opts: HostTableOptions) {
    checkShape(sizes, dim);
    const shardBytes = opts.shardBytes ?? MAX_SHARD_BYTES;
    if (!(Number.isInteger(shardBytes) && shardBytes >= 4 * dim && shardBytes <= MAX_SHARD_BYTES)) {
      throw new InputError(WHERE, `shardBytes ${show(shardBytes)} must be an integer in [4 * dim, 2^30]`, 'shardBytes');
    }
    if (!(Number.isFinite(opts.initStd) && opts.initStd >= 0)) {
      throw new InputError(WHERE, `initStd ${show(opts.initStd)} must be a finite number >= 0`, 'initStd');
    }
    if (!(Number.isSafeInteger(opts.seed) && opts.seed >= 0)) {
      throw new InputError(WHERE, `seed ${show(opts.seed)} must be a non-negative safe integer`, 'seed');
    }
    this.sizes = [...sizes];
    this.numTables = sizes.length;
    this.dim = dim;
    this.offsets = new Float64Array(sizes.length + 1);
    for (let j = 0; j < sizes.length; j++) this.offsets[j + 1] = this.offsets[j] + sizes[j];
    this.rows = this.offsets[sizes.length];
    if (this.rows >= 2 ** 31) {
      // global row ids travel in Int32Arrays on the hot path
      throw new InputError(WHERE, `total rows ${this.rows} must be < 2^31`, 'sizes');
    }
    this.rowsPerShard = Math.floor(shardBytes / (4 * dim));
    this.shards = [];
    for (let r0 = 0; r0 < this.rows; r0 += this.rowsPerShard) {
      const shard = new Float32Array(Math.min(this.rowsPerShard, this.rows - r0) * dim);
      // the values only: the lazy-Adam moments (zero tables) keep 4 KiB pages, or every hit row
      // would make a whole 2 MiB of them resident (bench --extra slots at 1e7 slots: 16 GB RSS
      // instead of 5.9, for no further speed-up)
      if (opts.initStd > 0) adviseShard?.(shard);
      this.shards.push(shard);
    }
    if (opts.initStd > 0) fillNormal(this.shards, opts.initStd, opts.seed);
  }

  /** A zero table with the same layout rules (for loading, or for optimizer moments). */
  static zeros(sizes: readonly number[], dim: number, opts: { shardBytes?: number } = {}): HostTable {
    return new HostTable(sizes, dim, { initStd: 0, seed: 0, shardBytes: opts.shardBytes });
  }

  /** Same layout (sizes, dim, shard size), all zeros. */
  zerosLike(): HostTable {
    return HostTable.zeros(this.sizes, this.dim, { shardBytes: this.rowsPerShard * this.dim * 4 });
  }

  /** Bytes held by the weights (moments are the optimizer's: see TRAINING_BYTES_PER_PARAM). */
  bytes(): number {
    return this.rows * this.dim * 4;
  }

  /** Row r as a view into its shard (no copy). */
  rowView(r: number): Float32Array {
    this.checkRow(r);
    const s = Math.floor(r / this.rowsPerShard);
    const a = (r - s * this.rowsPerShard) * this.dim;
    return this.shards[s].subarray(a, a + this.dim);
  }

  getRow(r: number, out: Float32Array = new Float32Array(this.dim)): Float32Array {
    out.set(this.rowView(r));
    return out;
  }

  setRow(r: number, values: ArrayLike<number>): void {
    if (values.length !== this.dim) {
      throw new InputError(WHERE, `row ${r} has ${values.length} values, expected dim ${this.dim}`);
    }
    this.rowView(r).set(values);
  }

  /** All rows in table order, [rows, dim] flattened: the reference state-dict layout. */
  toArray(): Float32Array {
    if (this.rows * this.dim > 2 ** 32 - 1) {
      throw new InputError(WHERE, `${this.rows} x ${this.dim} values do not fit one Float32Array`);
    }
    const out = new Float32Array(this.rows * this.dim);
    let o = 0;
    for (const shard of this.shards) {
      out.set(shard, o);
      o += shard.length;
    }
    return out;
  }

  /** Overwrite all rows from [rows, dim] flattened values (e.g. an imported state dict). */
  fromArray(data: ArrayLike<number>): this {
    if (data.length !== this.rows * this.dim) {
      throw new InputError(WHERE, `array of ${data.length} values, expected rows x dim = ${this.rows} x ${this.dim}`);
    }
    let o = 0;
    for (const shard of this.shards) {
      if (data instanceof Float32Array) shard.set(data.subarray(o, o + shard.length));
      else for (let i = 0; i < shard.length; i++) shard[i] = data[o + i];
      o += shard.length;
    }
    return this;
  }

  private checkRow(r: number): void {
    if (!(Number.isInteger(r) && r >= 0 && r < this.rows)) {
      throw new InputError(WHERE, `row ${show(r)} is outside [0, ${this.rows})`);
    }
  }
}

function checkShape(sizes: readonly number[], dim: number): void {
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new InputError(WHERE, `sizes ${show(sizes)} must be a non-empty array of table sizes`, 'sizes');
  }
  sizes.forEach((n, j) => {
    if (!(Number.isSafeInteger(n) && n > 0)) {
      throw new InputError(WHERE, `table size ${show(n)} must be a positive integer`, `sizes[${j}]`);
    }
  });
  if (!(Number.isSafeInteger(dim) && dim > 0)) {
    throw new InputError(WHERE, `dim ${show(dim)} must be a positive integer`, 'dim');
  }
}

/**
 * Fill the shards, in row order, with N(0, std^2) from xoshiro128** (seeded by splitmix32) and
 * the Marsaglia polar method (Box-Muller without trig). One stream across shards, so the values
 * do not depend on the shard size. 1.6e8 values take about a second.
 */
function fillNormal(shards: Float32Array[], std: number, seed: number): void {
  const sm = splitmix32((seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2f));
  let s0 = sm(),
    s1 = sm(),
    s2 = sm(),
    s3 = sm();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // xoshiro's one forbidden state
  const U = 2 ** -31; // 32-bit int -> [-1, 1)
  let spare = 0;
  let haveSpare = false;
  for (const shard of shards) {
    for (let i = 0; i < shard.length; i++) {
      if (haveSpare) {
        shard[i] = spare;
        haveSpare = false;
        continue;
      }
      let u = 0,
        v = 0,
        q = 0;
      do {
        // xoshiro128**, inlined twice: one draw for u, one for v
        let r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
        let t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        u = r * U; // r is a signed int32: u in [-1, 1)
        r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 11);
        v = r * U;
        q = u * u + v * v;
      } while (q >= 1 || q === 0);
      const f = std * Math.sqrt((-2 * Math.log(q)) / q);
      shard[i] = u * f;
      spare = v * f;
      haveSpare = true;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
}
