/**
 * Small deterministic PRNGs for initialisation and batch order. Backend independent, so the same
 * seed gives the same weights on wasm, cpu or tensorflow, and named streams (one per parameter)
 * keep a parameter's init unchanged when other parameters are added (common random numbers
 * across rho: more experts must not shift the attention weights).
 */
import { createHash } from 'node:crypto';

/** splitmix32 step: a fast, well-mixed 32-bit generator. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A stream named by (seed, name): independent of every other name. */
  static named(seed: number, name: string): Rng {
    const d = createHash('sha256').update(`${seed}\0${name}`).digest();
    return new Rng(d.readUInt32LE(0));
  }

  nextU32(): number {
    let z = (this.s = (this.s + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** uniform in [0, 1) with 32 bits */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fill with N(0, std^2) by Box-Muller. */
  normal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = (this.nextU32() + 1) / 4294967297; // (0, 1]
      const u2 = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u1)) * std;
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** Fisher-Yates in place. */
  shuffle<T>(a: T[] | Int32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
