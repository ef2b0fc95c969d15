// Small transformer LM training step on wasm, profiled per kernel. Not committed.
// STOCK=1: stock wasm kernels + only our UnsortedSegmentSum (needed for gather grads).
import * as tf from '@tensorflow/tfjs';
import * as wasmMod from '@tensorflow/tfjs-backend-wasm';
import { initBackend, overrideKernel, wasmKernelConfigs, sparseSoftmaxCrossEntropy } from './dist/backend/index.js';
import { createRequire } from 'node:module'; import path from 'node:path';
const B = 16, T = 128, D = 128, H = 4, Dh = D / H, V = +(process.env.V ?? 4096), E = 8, TOPK = 2, FF = 384, EFF = 96;
if (process.env.STOCK) {
  wasmMod.setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  await tf.setBackend('wasm');
  overrideKernel(wasmKernelConfigs.find(k => k.kernelName === 'UnsortedSegmentSum'));
} else await initBackend('wasm', { log: console.log });
tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
// Other processes share the 2 cores: time kernels by this process's CPU time, not wall time.
const cpuMs = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
tf.backend().time = async (f) => { const c0 = cpuMs(); f(); return { kernelMs: cpuMs() - c0 }; };
const rnd = (shape, s = 0.02) => tf.variable(tf.randomNormal(shape, 0, s));
const P = {
  emb: rnd([V, D]), head: rnd([D, V]), nf: tf.variable(tf.ones([D])),
  layers: [0, 1].map((l) => ({
    n1: tf.variable(tf.ones([D])), n2: tf.variable(tf.ones([D])),
    wqkv: rnd([D, 3 * D]), wo: rnd([D, D]),
    ...(l === 0 ? { w1: rnd([D, FF]), w3: rnd([D, FF]), w2: rnd([FF, D]) }
               : { wr: rnd([D, E]), ew1: [...Array(E)].map(() => rnd([D, EFF])), ew3: [...Array(E)].map(() => rnd([D, EFF])), ew2: [...Array(E)].map(() => rnd([EFF, D])) }),
  })),
};
const half = Dh / 2;
const inv = tf.tensor1d([...Array(half).keys()].map(i => 1 / 10000 ** (2 * i / Dh)));
const ang = tf.outerProduct(tf.range(0, T), inv); // [T, half]
const cos = tf.cos(ang).reshape([1, 1, T, half]), sin = tf.sin(ang).reshape([1, 1, T, half]);
const mask = tf.tensor2d([...Array(T * T)].map((_, i) => (i % T) > Math.floor(i / T) ? -1e9 : 0), [T, T]);
const rms = (x, w) => x.mul(tf.rsqrt(x.square().mean(-1, true).add(1e-6))).mul(w);
const silu = (x) => x.mul(tf.sigmoid(x));
function rope(x) { // [B, H, T, Dh]
  const x1 = x.slice([0, 0, 0, 0], [-1, -1, -1, half]), x2 = x.slice([0, 0, 0, half], [-1, -1, -1, half]);
  return tf.concat([x1.mul(cos).sub(x2.mul(sin)), x1.mul(sin).add(x2.mul(cos))], -1);
}
function attn(x, L) { // x [B*T, D]
  const qkv = tf.matMul(x, L.wqkv).reshape([B, T, 3, H, Dh]).transpose([2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
  const [q, k, v] = tf.unstack(qkv);
  const q3 = rope(q).reshape([B * H, T, Dh]), k3 = rope(k).reshape([B * H, T, Dh]), v3 = v.reshape([B * H, T, Dh]);
  const s = tf.matMul(q3, k3, false, true).mul(1 / Math.sqrt(Dh)).add(mask);
  const o = tf.matMul(tf.softmax(s), v3).reshape([B, H, T, Dh]).transpose([0, 2, 1, 3]).reshape([B * T, D]);
  return tf.matMul(o, L.wo);
}
function moe(x, L) { // x [N, D]; routing indices from a detached copy (topk has no gradient)
  const N = B * T;
  const scores = tf.sigmoid(tf.matMul(x, L.wr)); // [N, E]
  const sd = scores.dataSync();
  const lists = [...Array(E)].map(() => []);
  for (let i = 0; i < N; i++) {
    const row = [...sd.subarray(i * E, i * E + E)].map((v, e) => [v, e]).sort((a, b) => b[0] - a[0]).slice(0, TOPK);
    for (const [, e] of row) lists[e].push(i);
  }
  const flat = scores.reshape([N * E]);
  let out = null;
  for (let e = 0; e < E; e++) {
    if (lists[e].length === 0) continue;
    const idx = tf.tensor1d(lists[e], 'int32');
    const gate = tf.gather(flat, tf.tensor1d(lists[e].map(i => i * E + e), 'int32')).reshape([-1, 1]);
    const xe = tf.gather(x, idx);
    const h = silu(tf.matMul(xe, L.ew1[e])).mul(tf.matMul(xe, L.ew3[e]));
    const y = tf.unsortedSegmentSum(tf.matMul(h, L.ew2[e]).mul(gate), idx, N);
    out = out ? out.add(y) : y;
  }
  return out;
}
function loss(tokens, targets) {
  let x = tf.gather(P.emb, tokens.reshape([B * T])); // [B*T, D]
  for (const L of P.layers) {
    x = x.add(attn(rms(x, L.n1), L));
    const h = rms(x, L.n2);
    x = x.add(L.w1 ? tf.matMul(silu(tf.matMul(h, L.w1)).mul(tf.matMul(h, L.w3)), L.w2) : moe(h, L));
  }
  const logits = tf.matMul(rms(x, P.nf), P.head); // [B*T, V]
  if (process.env.CE) return sparseSoftmaxCrossEntropy(logits, targets.reshape([B * T])).mean();
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.sum(tf.oneHot(targets.reshape([B * T]), V).mul(logp))).div(B * T);
}
const opt = tf.train.adam(1e-3);
const data = tf.randomUniform([B, T + 1], 0, V, 'int32');
const tokens = data.slice([0, 0], [B, T]), targets = data.slice([0, 1], [B, T]);
const step = () => tf.tidy(() => { const l = opt.minimize(() => loss(tokens, targets), true); return l.dataSync()[0]; });
for (let i = 0; i < 2; i++) console.log('warm loss', step());
const n = +(process.env.STEPS ?? 4);
let t0 = performance.now(), c0 = cpuMs();
for (let i = 0; i < n; i++) step();
const ms = (performance.now() - t0) / n, cms = (cpuMs() - c0) / n;
console.log(`step wall ${ms.toFixed(1)} ms (${(B * T / ms * 1000).toFixed(0)} tok/s), cpu ${cms.toFixed(1)} ms (${(B * T / cms * 1000).toFixed(0)} tok/cpu-s), tensors ${tf.memory().numTensors}`);
const prof = await tf.profile(() => { step(); });
const byName = new Map();
for (const k of prof.kernels) { const r = byName.get(k.name) ?? { ms: 0, n: 0 }; r.ms += k.kernelTimeMs; r.n++; byName.set(k.name, r); }
const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, r) => s + r[1].ms, 0);
console.log(`profiled kernel total ${total.toFixed(1)} ms over ${prof.kernels.length} kernel calls`);
for (const [name, r] of rows.slice(0, +(process.env.TOP ?? 25))) console.log(`| ${name} | ${r.n} | ${r.ms.toFixed(1)} |`);
if (process.env.SHAPES) { const m = new Map(); for (const k of prof.kernels) { if (!process.env.SHAPES.split(",").includes(k.name)) continue; const key = k.name + " " + JSON.stringify(k.inputShapes); const r = m.get(key) ?? { ms: 0, n: 0 }; r.ms += k.kernelTimeMs; r.n++; m.set(key, r); } for (const [key, r] of [...m].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) console.log(key, r.n, r.ms.toFixed(1)); }
