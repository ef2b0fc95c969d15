#!/usr/bin/env python3
"""The PyTorch peer of `engram-sweep bench`: the three bench models in PyTorch eager on the CPU.

    /usr/bin/python3 bench/peer_torch.py --config dense-s|moe-s|engram-s [--threads N] [--steps S]

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
RoPE is the rotate-half form ([x1, x2] -> [-x2, x1]) that src/model/rope.ts uses; the reference rotates
interleaved pairs. Both cost the same.
Needs Debian's python3-torch. Synthetic token ids, fixed seed, one fixed batch for every step.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, D, LAYERS, HEADS, T, B = 4096, 128, 4, 4, 128, 16
HD = D // HEADS


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables():
    inv = 10000.0 ** (-torch.arange(0, HD, 2).float() / HD)  # [HD/2]
    ang = torch.outer(torch.arange(T).float(), inv)  # [T, HD/2]
    ang = torch.cat([ang, ang], -1)  # [T, HD]: the same angle for j and j + HD/2
    return ang.cos(), ang.sin()


COS, SIN = rope_tables()


def rope(x):  # x [B, H, T, HD]
    x1, x2 = x[..., : HD // 2], x[..., HD // 2 :]
    return x * COS + torch.cat([-x2, x1], -1) * SIN


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.wqkv = nn.Linear(D, 3 * D, bias=False)
        self.wo = nn.Linear(D, D, bias=False)
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def forward(self, x):  # [B, T, D]
        q, k, v = self.wqkv(x).view(B, T, 3, HEADS, HD).permute(2, 0, 3, 1, 4)  # each [B, H, T, HD]
        scores = rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(HD) + self.mask
        ctx = torch.softmax(scores, -1) @ v  # [B, H, T, HD]
        return self.wo(ctx.transpose(1, 2).reshape(B, T, D))


class SwiGLU(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.wgu = nn.Linear(D, 2 * hidden, bias=False)
        self.wdown = nn.Linear(hidden, D, bias=False)

    def forward(self, x):
        g, u = self.wgu(x).chunk(2, -1)
        return self.wdown(F.silu(g) * u)


class MoE(nn.Module):
    def __init__(self, routed=16, hidden=96, top_k=2, gamma=1e-3):
        super().__init__()
        self.top_k, self.gamma = top_k, gamma
        self.shared = SwiGLU(hidden)
        self.experts = nn.ModuleList(SwiGLU(hidden) for _ in range(routed))
        self.router = nn.Linear(D, routed, bias=False)
        self.register_buffer("bias", torch.zeros(routed))

    def forward(self, x):  # [B, T, D]
        xf = x.reshape(-1, D)
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
        return out.view(B, T, D)


def primes_above(n, count):
    found = []
    while len(found) < count:
        n += 1
        if n > 1 and all(n % p for p in range(2, math.isqrt(n) + 1)):
            found.append(n)
    return found


class Engram(nn.Module):
    def __init__(self, slots=100_000, orders=(2, 3), heads=4, d_order=64, width=4):
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
        self.key, self.value = nn.Linear(d_mem, D), nn.Linear(d_mem, D)
        self.query_norm, self.key_norm, self.conv_norm = RMSNorm(D), RMSNorm(D), RMSNorm(D)
        self.dilation = max(orders)
        self.conv = nn.Conv1d(D, D, width, groups=D, dilation=self.dilation, bias=False)
        nn.init.zeros_(self.conv.weight)

    def rows(self, ids):  # [B, T] -> [B, T, orders * heads] row numbers in the shared table
        mix, cols = None, []
        for j in range(max(self.orders)):
            prev = F.pad(ids, (j, 0))[:, :T] * self.mult[j]  # token t - j (0 before the start)
            mix = prev if mix is None else mix ^ prev
            if j + 1 in self.orders:
                cols.append(mix.unsqueeze(-1).expand(-1, -1, self.heads))
        return torch.cat(cols, -1) % self.sizes + self.starts

    def forward(self, h, ids):
        e = self.table(self.rows(ids)).flatten(-2)  # [B, T, d_mem]
        gate = torch.sigmoid((self.query_norm(h) * self.key_norm(self.key(e))).sum(-1, keepdim=True) / math.sqrt(D))
        v = gate * self.value(e)
        pad = (self.conv.kernel_size[0] - 1) * self.dilation
        y = self.conv(F.pad(self.conv_norm(v).transpose(1, 2), (pad, 0))).transpose(1, 2)  # causal
        return h + F.silu(y) + v


class Block(nn.Module):
    def __init__(self, ffn, engram=None):
        super().__init__()
        self.attn_norm, self.ffn_norm = RMSNorm(D), RMSNorm(D)
        self.attn, self.ffn, self.engram = Attention(), ffn, engram

    def forward(self, x, ids):
        if self.engram is not None:
            x = self.engram(x, ids)
        x = x + self.attn(self.attn_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class LM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        def ffn():
            return SwiGLU(384) if config == "dense-s" else MoE()
        self.blocks = nn.ModuleList(
            Block(ffn(), Engram() if config == "engram-s" and i == 1 else None) for i in range(LAYERS)
        )
        self.norm, self.head = RMSNorm(D), nn.Linear(D, V, bias=False)

    def forward(self, ids, targets):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x, ids)
        return F.cross_entropy(self.head(self.norm(x)).view(-1, V), targets.reshape(-1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="dense-s", choices=["dense-s", "moe-s", "engram-s"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=12)
    a = p.parse_args()
    if a.steps < 3:
        p.error("--steps must be at least 3 (the first two are not timed)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = LM(a.config)
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
