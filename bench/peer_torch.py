#!/usr/bin/env python3
"""The PyTorch peer of `engram-sweep bench`: the bench models in PyTorch eager on the CPU.

    /usr/bin/python3 bench/peer_torch.py --config dense-s|moe-s|engram-s|dense-m|moe-m|engram-m
                                         [--threads N] [--steps S]

Prints one JSON line. Its keys are those of the suite's reference peer (../shared/bench/peer_torch.py):
engine, config, threads, params, ms_per_step, tokens_per_s (median wall time of the steps after the
first two), loss_first, loss_last, OPENBLAS_CORETYPE; plus cpu_ms_per_step and tokens_per_cpu_s (the
process's CPU time per step, all threads), which stay meaningful on a busy machine.

The models are the reference's, written to match src/bench/configs.ts: d 128, 4 layers, 4 heads,
seq 128, batch 16, vocab 4096, RMSNorm (eps 1e-6), RoPE, untied head, AdamW lr 1e-3.
  dense-s : SwiGLU FFN, hidden 384
  moe-s   : 1 shared + 16 routed SwiGLU experts of hidden 96, top-2 of sigmoid scores (+ a selection
            bias nudged toward balance each step), weights renormalised over the chosen two,
            gather / index_add dispatch per expert
  engram-s: moe-s + an Engram layer before block 1: hashed 2- and 3-grams (XOR of id * odd
            multiplier), 4 heads per order, 16 dims per head (64 per order), prime tables of
            ~1e5 rows, key/value projections, query/key RMSNorm gate, RMSNorm + causal depthwise conv
            (width 4, dilation 3), SiLU; tables trained by SparseAdam lr 5e-3 (a lazy row update)
The -m configs are the same three one size up (SIZES): d 256, 6 layers, 8 heads, seq 256, batch 8,
vocab 8192; dense SwiGLU hidden 768; experts of hidden 192; Engram 128 dims per order (32 per head).
The size, batch included, follows from --config alone, as in the reference.
RoPE is the rotate-half form ([x1, x2] -> [-x2, x1]) that src/model/rope.ts uses; the reference rotates
interleaved pairs. Both cost the same.
Needs Debian's python3-torch. Synthetic token ids, fixed seed, one fixed batch for every step.
"""
import argparse
import json
import math
import os
import time
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class Size(NamedTuple):
    vocab: int
    d: int
    layers: int
    heads: int
    seq: int
    batch: int
    ffn: int  # dense SwiGLU hidden
    expert: int  # hidden of one expert (shared and routed)
    d_order: int  # Engram dims per order


SIZES = {
    "s": Size(vocab=4096, d=128, layers=4, heads=4, seq=128, batch=16, ffn=384, expert=96, d_order=64),
    "m": Size(vocab=8192, d=256, layers=6, heads=8, seq=256, batch=8, ffn=768, expert=192, d_order=128),
}
CONFIGS = [f"{kind}-{size}" for size in SIZES for kind in ("dense", "moe", "engram")]


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(hd, t):
    inv = 10000.0 ** (-torch.arange(0, hd, 2).float() / hd)  # [HD/2]
    ang = torch.outer(torch.arange(t).float(), inv)  # [T, HD/2]
    ang = torch.cat([ang, ang], -1)  # [T, HD]: the same angle for j and j + HD/2
    return ang.cos(), ang.sin()


def rope(x, cos, sin):  # x [B, H, T, HD]
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Attention(nn.Module):
    def __init__(self, z):
        super().__init__()
        self.heads, self.hd = z.heads, z.d // z.heads
        self.wqkv = nn.Linear(z.d, 3 * z.d, bias=False)
        self.wo = nn.Linear(z.d, z.d, bias=False)
        self.register_buffer("mask", torch.full((z.seq, z.seq), float("-inf")).triu(1))
        cos, sin = rope_tables(self.hd, z.seq)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)

    def forward(self, x):  # [B, T, D]
        b, t, d = x.shape
        q, k, v = self.wqkv(x).view(b, t, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)  # each [B, H, T, HD]
        q, k = rope(q, self.cos, self.sin), rope(k, self.cos, self.sin)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + self.mask
        ctx = torch.softmax(scores, -1) @ v  # [B, H, T, HD]
        return self.wo(ctx.transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.wgu = nn.Linear(d, 2 * hidden, bias=False)
        self.wdown = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        g, u = self.wgu(x).chunk(2, -1)
        return self.wdown(F.silu(g) * u)


class MoE(nn.Module):
    def __init__(self, d, hidden, routed=16, top_k=2, gamma=1e-3):
        super().__init__()
        self.top_k, self.gamma = top_k, gamma
        self.shared = SwiGLU(d, hidden)
        self.experts = nn.ModuleList(SwiGLU(d, hidden) for _ in range(routed))
        self.router = nn.Linear(d, routed, bias=False)
        self.register_buffer("bias", torch.zeros(routed))

    def forward(self, x):  # [B, T, D]
        xf = x.reshape(-1, x.shape[-1])
        scores = torch.sigmoid(self.router(xf))  # [N, E]
        chosen = torch.topk(scores + self.bias, self.top_k, -1).indices  # the bias steers selection only
        gates = scores.gather(-1, chosen)
        gates = gates / gates.sum(-1, keepdim=True)
        out = self.shared(xf)
        for e, expert in enumerate(self.experts):
            rows, slot = (chosen == e).nonzero(as_tuple=True)
            if rows.numel():
                out = out.index_add(0, rows, expert(xf[rows]) * gates[rows, slot, None])
        with torch.no_grad():  # auxiliary-loss-free balancing
            load = torch.bincount(chosen.flatten(), minlength=len(self.experts)).float()
            self.bias += self.gamma * torch.sign(load.mean() - load)
        return out.view(x.shape)


def primes_above(n, count):
    found = []
    while len(found) < count:
        n += 1
        if n > 1 and all(n % p for p in range(2, math.isqrt(n) + 1)):
            found.append(n)
    return found


class Engram(nn.Module):
    def __init__(self, d, d_order, slots=100_000, orders=(2, 3), heads=4, width=4):
        super().__init__()
        self.orders, self.heads = orders, heads
        sizes = primes_above(slots - 1, len(orders) * heads)  # one prime table per (order, head)
        self.head_dim = d_order // heads
        d_mem = d_order * len(orders)
        self.table = nn.Embedding(sum(sizes), self.head_dim, sparse=True)
        nn.init.normal_(self.table.weight, std=0.02)
        self.register_buffer("sizes", torch.tensor(sizes))
        self.register_buffer("starts", torch.tensor([0] + sizes[:-1]).cumsum(0))
        g = torch.Generator().manual_seed(1)
        self.mult = [2 * int(m) + 1 for m in torch.randint(0, 2**40, (max(orders),), generator=g)]
        self.key, self.value = nn.Linear(d_mem, d), nn.Linear(d_mem, d)
        self.query_norm, self.key_norm, self.conv_norm = RMSNorm(d), RMSNorm(d), RMSNorm(d)
        self.dilation = max(orders)
        self.conv = nn.Conv1d(d, d, width, groups=d, dilation=self.dilation, bias=False)
        nn.init.zeros_(self.conv.weight)

    def rows(self, ids):  # [B, T] -> [B, T, orders * heads] row numbers in the shared table
        mix, cols, t = None, [], ids.shape[1]
        for j in range(max(self.orders)):
            prev = F.pad(ids, (j, 0))[:, :t] * self.mult[j]  # token t - j (0 before the start)
            mix = prev if mix is None else mix ^ prev
            if j + 1 in self.orders:
                cols.append(mix.unsqueeze(-1).expand(-1, -1, self.heads))
        return torch.cat(cols, -1) % self.sizes + self.starts

    def forward(self, h, ids):
        e = self.table(self.rows(ids)).flatten(-2)  # [B, T, d_mem]
        score = (self.query_norm(h) * self.key_norm(self.key(e))).sum(-1, keepdim=True)
        gate = torch.sigmoid(score / math.sqrt(h.shape[-1]))
        v = gate * self.value(e)
        pad = (self.conv.kernel_size[0] - 1) * self.dilation
        y = self.conv(F.pad(self.conv_norm(v).transpose(1, 2), (pad, 0))).transpose(1, 2)  # causal
        return h + F.silu(y) + v


class Block(nn.Module):
    def __init__(self, z, ffn, engram=None):
        super().__init__()
        self.attn_norm, self.ffn_norm = RMSNorm(z.d), RMSNorm(z.d)
        self.attn, self.ffn, self.engram = Attention(z), ffn, engram

    def forward(self, x, ids):
        if self.engram is not None:
            x = self.engram(x, ids)
        x = x + self.attn(self.attn_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class LM(nn.Module):
    def __init__(self, config):
        super().__init__()
        kind, size = config.split("-")
        z = SIZES[size]
        self.embed = nn.Embedding(z.vocab, z.d)
        def ffn():
            return SwiGLU(z.d, z.ffn) if kind == "dense" else MoE(z.d, z.expert)
        self.blocks = nn.ModuleList(
            Block(z, ffn(), Engram(z.d, z.d_order) if kind == "engram" and i == 1 else None) for i in range(z.layers)
        )
        self.norm, self.head = RMSNorm(z.d), nn.Linear(z.d, z.vocab, bias=False)

    def forward(self, ids, targets):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x, ids)
        return F.cross_entropy(self.head(self.norm(x)).flatten(0, 1), targets.reshape(-1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="dense-s", choices=CONFIGS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=12)
    a = p.parse_args()
    if a.steps < 3:
        p.error("--steps must be at least 3 (the first two are not timed)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = LM(a.config)
    z = SIZES[a.config.split("-")[1]]
    B, T, V = z.batch, z.seq, z.vocab
    tables = [w for n, w in model.named_parameters() if n.endswith("table.weight")]
    dense = [w for n, w in model.named_parameters() if not n.endswith("table.weight")]
    opts = [torch.optim.AdamW(dense, lr=1e-3)] + ([torch.optim.SparseAdam(tables, lr=5e-3)] if tables else [])
    data = torch.randint(0, V, (B, T + 1), generator=torch.Generator().manual_seed(0))
    ids, targets = data[:, :T], data[:, 1:]
    wall, cpu, losses = [], [], []
    for _ in range(a.steps):
        w0, c0 = time.perf_counter(), time.process_time()
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss = model(ids, targets)
        loss.backward()
        for o in opts:
            o.step()
        losses.append(loss.item())
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    med = sorted(wall[2:])[len(wall[2:]) // 2]
    cmed = sorted(cpu[2:])[len(cpu[2:]) // 2]
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} eager cpu", "config": a.config, "threads": a.threads,
        "params": sum(w.numel() for w in model.parameters()),
        "ms_per_step": round(med * 1000, 1), "tokens_per_s": round(B * T / med),
        "cpu_ms_per_step": round(cmed * 1000, 1), "tokens_per_cpu_s": round(B * T / cmed),
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }))


if __name__ == "__main__":
    main()
