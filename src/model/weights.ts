/**
 * The model's trainable tensors, created from the parameter list. Each tensor is initialised from
 * its own named random stream, so adding experts (lower rho) leaves every other tensor's init
 * unchanged for the same seed: the common random numbers that make rho sweeps readable.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';
import { paramSpecs, size, type ParamSpec } from './params.js';

export class Weights {
  readonly vars = new Map<string, tf.Variable>();
  readonly specs: ParamSpec[];

  constructor(config: ModelConfig, seed: number) {
    this.specs = paramSpecs(config);
    for (const p of this.specs)
      this.vars.set(p.name, tf.variable(initTensor(p, seed), true, p.name + '#' + seed + '#' + uid++));
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  list(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Replace values (import); shapes must match. */
  assign(name: string, values: Float32Array): void {
    const v = this.get(name);
    if (values.length !== v.size) throw new Error(`${name}: ${values.length} values for shape [${v.shape}]`);
    v.assign(tf.tensor(values, v.shape));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let uid = 0;

function initTensor(p: ParamSpec, seed: number): tf.Tensor {
  const n = size(p.shape);
  if (p.init.kind === 'ones') return tf.ones(p.shape);
  if (p.init.kind === 'zeros') return tf.zeros(p.shape);
  return tf.tensor(Rng.named(seed, p.name).normal(new Float32Array(n), p.init.std), p.shape);
}
