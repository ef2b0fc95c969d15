import * as tf from '@tensorflow/tfjs';
import { attention } from './attention.js';
import type { ModelConfig } from './config.js';
import { tablesPerPosition } from './config.js';
import { engram, type EngramWeights } from './engram.js';
import { moe, newRouterState, type RouterState } from './moe.js';
import { rmsNorm } from './norm.js';
import { overEncoding } from './overencoding.js';
import { Rope } from './rope.js';
import { swiglu } from './swiglu.js';
import { Weights } from './weights.js';

/** Looked-up memory rows for one batch, gathered on the host (src/memory) ahead of the step. */
export interface MemoryRows {
  /** per Engram layer id: [B*T, d_mem] */
  engram: Map<number, tf.Tensor2D>;
  /** OverEncoding rows: [B*T, d_mem] */
  overEncoding?: tf.Tensor2D;
}

export interface ForwardResult {
  logits: tf.Tensor2D; // [B*T, V]
  /** auxiliary losses (sequence-wise balance), already weighted; null when none */
  aux: tf.Scalar | null;
  /** per Engram layer id: the gate alpha, [B, T, hc] */
  gates: Map<number, tf.Tensor3D>;
  /** per MoE layer: tokens routed to each expert in this forward, [E] (empty without MoE) */
  expertLoad: Int32Array[];
}

/**
 * Pre-norm decoder (nanoGPT-shaped): token embedding (+ OverEncoding), then per block
 * [Engram residual] -> attention -> FFN (dense SwiGLU or DeepSeekMoE), final RMSNorm, untied head.
 */
export class Transformer {
  readonly weights: Weights;
  readonly routers: RouterState[];
  private readonly rope: Rope; // cos/sin tables [T, dh], shared by every layer

  constructor(
    readonly config: ModelConfig,
    seed: number,
  ) {
    this.weights = new Weights(config, seed);
    this.rope = new Rope(config.seqLen, config.dModel / config.nHeads, config.ropeBase);
    this.routers = config.moe ? Array.from({ length: config.nLayers }, () => newRouterState(config.moe!.routed)) : [];
  }

  /** ids: [B, T] int32 */
  forward(ids: tf.Tensor2D, memory: MemoryRows): ForwardResult {
    const c = this.config;
    const w = (n: string) => this.weights.get(n);
    const [B, T] = ids.shape;
    const d = c.dModel;
    const gates = new Map<number, tf.Tensor3D>();
    const expertLoad: Int32Array[] = [];
    let aux: tf.Scalar | null = null;
    const logits = tf.tidy(() => {
      let x0 = tf.gather(w('embed'), tf.reshape(ids, [B * T])) as tf.Tensor2D; // [B*T, d]
      if (c.overEncoding && memory.overEncoding) {
        x0 = overEncoding(
          x0,
          memory.overEncoding,
          w('overEncoding.proj'),
          tablesPerPosition(c.overEncoding),
          c.overEncoding.tokenWeight,
        );
      }
      let x = tf.reshape(x0, [B, T, d]) as tf.Tensor3D; // [B, T, d]
      for (let l = 0; l < c.nLayers; l++) {
        const p = `layers.${l}`;
        const rows = memory.engram.get(l);
        if (c.engram?.layerIds.includes(l) && rows) {
          const r = engram(tf.reshape(x, [B, T, 1, d]), rows, this.engramWeights(l), c.engram);
          x = tf.add(x, tf.reshape(r.out, [B, T, d])); // H <- H + Y, before the block
          gates.set(l, tf.keep(r.gates));
        }
        // pre-norm residual blocks: x <- x + f(RMSNorm(x)), so the residual stream itself is never normalised
        x = tf.add(
          x,
          attention(
            rmsNorm(x, w(`${p}.attnNorm`), c.normEps) as tf.Tensor3D,
            w(`${p}.attn.wqkv`),
            w(`${p}.attn.wo`),
            c.nHeads,
            this.rope,
          ),
        ); // [B, T, d]
        const hn = tf.reshape(rmsNorm(x, w(`${p}.ffnNorm`), c.normEps), [B * T, d]) as tf.Tensor2D; // [B*T, d]
        let f: tf.Tensor2D; // [B*T, d]
        if (c.moe) {
          const r = moe(hn, this.moeWeights(l), c.moe, this.routers[l], T);
          f = r.y;
          expertLoad.push(r.load);
          if (r.balance) aux = tf.keep(aux ? (tf.add(aux, r.balance) as tf.Scalar) : r.balance);
        } else {
          f = swiglu(hn, w(`${p}.ffn.wgu`), w(`${p}.ffn.wdown`));
        }
        x = tf.add(x, tf.reshape(f, [B, T, d])); // [B, T, d]
      }
      const xf = tf.reshape(rmsNorm(x, w('finalNorm'), c.normEps), [B * T, d]); // [B*T, d]
      return tf.matMul(xf, w('head')) as tf.Tensor2D; // [B*T, V]
    });
    return { logits, aux, gates, expertLoad };
  }

  engramWeights(l: number): EngramWeights {
    const p = `layers.${l}.engram`;
    const w = (n: string) => this.weights.get(`${p}.${n}`);
    const branches = Array.from({ length: this.config.engram!.hcMult }, (_, g) => g);
    return {
      value: w('value'),
      valueBias: w('valueBias'),
      key: branches.map((g) => w(`key.${g}`)),
      keyBias: branches.map((g) => w(`keyBias.${g}`)),
      keyNorm: branches.map((g) => w(`keyNorm.${g}`)),
      queryNorm: branches.map((g) => w(`queryNorm.${g}`)),
      convNorm: branches.map((g) => w(`convNorm.${g}`)),
      conv: w('conv'),
    };
  }

  private moeWeights(l: number) {
    const p = `layers.${l}.moe`;
    const has = this.weights.has(`${p}.shared.wgu`);
    return {
      sharedWgu: has ? this.weights.get(`${p}.shared.wgu`) : undefined,
      sharedWdown: has ? this.weights.get(`${p}.shared.wdown`) : undefined,
      router: this.weights.get(`${p}.router`),
      routedWgu: this.weights.get(`${p}.routed.wgu`),
      routedWdown: this.weights.get(`${p}.routed.wdown`),
    };
  }

  dispose(): void {
    this.weights.dispose();
    this.rope.dispose();
  }
}
