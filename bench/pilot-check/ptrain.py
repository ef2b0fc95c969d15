#!/usr/bin/env python3
"""Engram/MoE allocation sweep at tiny scale. Adapted from shared/bench/peer_torch.py (copy, not the original).
Backbone: d128, 4 layers, 4 heads, seq 128, vocab 4096, RMSNorm, RoPE, SwiGLU; every FFN = DeepSeekMoE
(1 shared + R routed experts, hidden EH, top-2 sigmoid routing, aux-loss-free bias). Engram before block 1:
orders 2-3, 4 heads/order, 64 dims/order (dh 16), prime-sized tables, gate + zero-init causal depthwise conv,
tables on SparseAdam at 5x lr. Hash input = lower-case-folded ids (compress.i64) unless --no-compress.
Allocation: P_sparse = L * NB * expert_params; routed = K + round(rho*NB) per layer;
table rows per head = round((1-rho) * P_sparse / (8 * 16)) (prime >= that); rho = 1 drops the Engram module
(unless --min-rows R, which keeps it with R-row tables so P_act matches the other points).
Prints one JSON line."""
import argparse, json, math, os, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('--rho', type=float, required=True); p.add_argument('--nb', type=int, default=16)
p.add_argument('--eh', type=int, default=96); p.add_argument('--k', type=int, default=2)
p.add_argument('--tokens', type=float, default=2e6); p.add_argument('--batch', type=int, default=16)
p.add_argument('--lr', type=float, default=2e-3); p.add_argument('--warmup', type=int, default=60)
p.add_argument('--seed', type=int, default=0); p.add_argument('--threads', type=int, default=1)
p.add_argument('--data', default='/tmp/ushape/data'); p.add_argument('--no-compress', action='store_true')
p.add_argument('--val-tokens', type=int, default=131072); p.add_argument('--min-rows', type=int, default=0); p.add_argument('--log', type=int, default=0)
p.add_argument('--d', type=int, default=128); p.add_argument('--routed', type=int, default=-1); p.add_argument('--rows', type=int, default=-1)
p.add_argument('--init', default='torch'); p.add_argument('--signed-sqrt', action='store_true'); p.add_argument('--clip-tables', action='store_true'); p.add_argument('--mem-lr', type=float, default=5.0); p.add_argument('--order', default='random')
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); np.random.seed(a.seed)
V, D, L, H, T = 4096, a.d, 4, 4, 128
HD = D // H; K = a.k
ORD, EH_HEADS, DORD = (2, 3), 4, 64; DH = DORD // EH_HEADS; NTAB = len(ORD) * EH_HEADS
train = torch.from_numpy(np.fromfile(os.path.join(a.data, 'train.u16'), np.uint16).astype(np.int64))
val = torch.from_numpy(np.fromfile(os.path.join(a.data, 'val.u16'), np.uint16).astype(np.int64))
comp = torch.from_numpy(np.fromfile(os.path.join(a.data, 'compress.i64'), np.int64))
if a.no_compress: comp = torch.arange(V)

class RMSNorm(nn.Module):
    def __init__(s, d, eps=1e-6):
        super().__init__(); s.w = nn.Parameter(torch.ones(d)); s.eps = eps
    def forward(s, x): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps) * s.w
inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD)); fr = torch.outer(torch.arange(T).float(), inv)
COS, SIN = fr.cos(), fr.sin()
def rope(x):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * COS - x2 * SIN, x1 * SIN + x2 * COS), -1).flatten(-2)
class Attention(nn.Module):
    def __init__(s):
        super().__init__(); s.qkv = nn.Linear(D, 3 * D, bias=False); s.o = nn.Linear(D, D, bias=False)
        s.register_buffer('mask', torch.triu(torch.full((T, T), float('-inf')), 1))
    def forward(s, x):
        B = x.shape[0]
        q, k, v = s.qkv(x).view(B, T, 3, H, HD).permute(2, 0, 3, 1, 4)
        att = torch.softmax(rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(HD) + s.mask, -1)
        return s.o((att @ v).transpose(1, 2).reshape(B, T, D))
class SwiGLU(nn.Module):
    def __init__(s, h):
        super().__init__(); s.gu = nn.Linear(D, 2 * h, bias=False); s.down = nn.Linear(h, D, bias=False)
    def forward(s, x):
        g, u = s.gu(x).chunk(2, -1); return s.down(F.silu(g) * u)
class MoE(nn.Module):
    def __init__(s, routed, hidden, k, shared=1):
        super().__init__(); s.k = k
        s.shared = nn.ModuleList([SwiGLU(hidden) for _ in range(shared)])
        s.experts = nn.ModuleList([SwiGLU(hidden) for _ in range(routed)])
        s.router = nn.Linear(D, routed, bias=False); s.register_buffer('bias', torch.zeros(routed))
    def forward(s, x):
        shp = x.shape; xf = x.reshape(-1, D); out = sum(e(xf) for e in s.shared)
        scores = torch.sigmoid(s.router(xf))
        idx = torch.topk(scores + s.bias, s.k, -1).indices
        w = scores.gather(-1, idx); w = w / w.sum(-1, keepdim=True)
        order = idx.flatten().argsort(); tok_all = order // s.k; slot_all = order % s.k
        counts = torch.bincount(idx.flatten(), minlength=len(s.experts)).tolist(); o = 0
        for e, expert in enumerate(s.experts):
            c = counts[e]
            if c:
                tok, slot = tok_all[o:o + c], slot_all[o:o + c]; o += c
                out = out.index_add(0, tok, expert(xf[tok]) * w[tok, slot, None])
        if s.training:
            with torch.no_grad():
                load = torch.tensor(counts, dtype=torch.float); s.bias += 1e-3 * torch.sign(load.mean() - load)
        return out.view(shp)
def primes_from(start, count):
    out, n = [], start
    while len(out) < count:
        n += 1
        if n > 1 and all(n % q for q in range(2, int(n ** 0.5) + 1)): out.append(n)
    return out
class Engram(nn.Module):
    def __init__(s, slots):
        super().__init__()
        s.primes = primes_from(slots - 1, NTAB); dmem = DORD * len(ORD)
        s.table = nn.Embedding(sum(s.primes), DH, sparse=True); nn.init.normal_(s.table.weight, std=0.02)
        s.register_buffer('offsets', torch.tensor([0] + s.primes[:-1]).cumsum(0))
        s.register_buffer('prime_t', torch.tensor(s.primes))
        s.mult = torch.tensor([2 * x + 1 for x in torch.randint(0, 2 ** 40, (max(ORD),)).tolist()])
        s.wk = nn.Linear(dmem, D); s.wv = nn.Linear(dmem, D)
        s.qn, s.kn, s.cn = RMSNorm(D), RMSNorm(D), RMSNorm(D)
        s.conv = nn.Conv1d(D, D, 4, groups=D, dilation=max(ORD), padding=3 * max(ORD), bias=False)
        nn.init.zeros_(s.conv.weight)
    def indices(s, ids):
        ids = comp[ids]; cols, mix = [], None
        for j in range(max(ORD)):
            prev = F.pad(ids, (j, 0), value=0)[:, :T]
            mix = prev * s.mult[j] if mix is None else mix ^ (prev * s.mult[j])
            if j + 1 in ORD: cols.append(mix.unsqueeze(-1).expand(-1, -1, EH_HEADS))
        return torch.cat(cols, -1) % s.prime_t + s.offsets
    def forward(s, h, ids):
        e = s.table(s.indices(ids)).flatten(-2)
        sc = (s.qn(h) * s.kn(s.wk(e))).sum(-1, keepdim=True) / math.sqrt(D)
        if a.signed_sqrt: sc = sc.sign() * sc.abs().clamp_min(1e-6).sqrt()
        gate = torch.sigmoid(sc)
        v = gate * s.wv(e)
        y = s.conv(s.cn(v).transpose(1, 2))[..., :T].transpose(1, 2)
        return h + F.silu(y) + v
class Block(nn.Module):
    def __init__(s, ffn, engram=None):
        super().__init__(); s.n1, s.n2 = RMSNorm(D), RMSNorm(D); s.att, s.ffn, s.engram = Attention(), ffn, engram
    def forward(s, x, ids):
        if s.engram is not None: x = s.engram(x, ids)
        x = x + s.att(s.n1(x)); return x + s.ffn(s.n2(x))

E = 3 * D * a.eh; P_sparse = L * a.nb * E
routed = K + round(a.rho * a.nb) if a.routed < 0 else a.routed
rows = max(a.min_rows, round((1 - a.rho) * P_sparse / (NTAB * DH))) if a.rows < 0 else a.rows  # --min-rows keeps a token-size Engram at rho=1 (P_act control)
class LM(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(V, D)
        s.blocks = nn.ModuleList([Block(MoE(routed, a.eh, K), Engram(rows) if (i == 1 and rows > 0) else None) for i in range(L)])
        s.norm = RMSNorm(D); s.head = nn.Linear(D, V, bias=False)
    def forward(s, ids, labels):
        x = s.emb(ids)
        for b in s.blocks: x = b(x, ids)
        return F.cross_entropy(s.head(s.norm(x)).view(-1, V), labels.reshape(-1))
m = LM()
if a.init == 'suite':  # GPT-2 style as src/model/params.ts: N(0, 0.02), residual outputs 0.02/sqrt(2L), Engram projections as torch default
    with torch.no_grad():
        for n, q in m.named_parameters():
            if n.endswith('table.weight') or q.dim() < 2 or '.engram.' in n: continue
            std = 0.02 / math.sqrt(2 * L) if (n.endswith('att.o.weight') or n.endswith('down.weight')) else 0.02
            q.normal_(0, std)
n_all = sum(p.numel() for p in m.parameters())
n_emb = m.emb.weight.numel() + m.head.weight.numel()
n_tab = sum(p.numel() for n, p in m.named_parameters() if n.endswith('table.weight'))
n_inactive_exp = L * (routed - K) * E
P_tot = n_all - n_emb; P_act = P_tot - n_tab - n_inactive_exp
sparse = [p for n, p in m.named_parameters() if n.endswith('table.weight')]
decay = [p for n, p in m.named_parameters() if not n.endswith('table.weight') and p.dim() >= 2]
nodecay = [p for n, p in m.named_parameters() if not n.endswith('table.weight') and p.dim() < 2]
opts = [torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, 0.95))]
if sparse: opts.append(torch.optim.SparseAdam(sparse, lr=a.mem_lr * a.lr, betas=(0.9, 0.95)))
base = [[g['lr'] for g in o.param_groups] for o in opts]
B = a.batch; steps = int(a.tokens // (B * T))
g = torch.Generator().manual_seed(1000 + a.seed)
NW = (len(train) - 1) // T; perm = torch.randperm(NW, generator=torch.Generator().manual_seed(2000 + a.seed)); bstep = [0]
def batch():
    if a.order == 'windows':  # suite: non-overlapping windows, one shuffled order
        st = perm[torch.arange(bstep[0] * B, bstep[0] * B + B) % NW] * T; bstep[0] += 1
    else: st = torch.randint(0, len(train) - T - 1, (B,), generator=g)
    x = torch.stack([train[i:i + T + 1] for i in st.tolist()]); return x[:, :T], x[:, 1:]
@torch.no_grad()
def evaluate():
    m.eval(); n = min(a.val_tokens, len(val) - 1) // T; tot = 0.0; cnt = 0
    for i in range(0, n, 64):
        j = min(n, i + 64); x = torch.stack([val[r * T:r * T + T + 1] for r in range(i, j)])
        tot += m(x[:, :T], x[:, 1:]).item() * (j - i); cnt += j - i
    m.train(); return tot / cnt
t0 = time.time(); hist = []
for step in range(steps):
    f = (step + 1) / a.warmup if step < a.warmup else 0.1 + 0.45 * (1 + math.cos(math.pi * (step - a.warmup) / max(1, steps - a.warmup)))
    for o, bl in zip(opts, base):
        for gr, lr0 in zip(o.param_groups, bl): gr['lr'] = lr0 * f
    x, y = batch()
    for o in opts: o.zero_grad(set_to_none=True)
    loss = m(x, y); loss.backward()
    if a.clip_tables and sparse:  # suite: table-row grads (per lookup) join the global norm and are scaled with it
        dn = torch.stack([q.grad.norm() for q in decay + nodecay if q.grad is not None])
        tn = torch.stack([q.grad._values().norm() for q in sparse])
        tot = torch.cat([dn, tn]).norm(); sc = min(1.0, 1.0 / (tot.item() + 1e-12)) if tot.item() > 1.0 else 1.0
        if sc < 1.0:
            for q in decay + nodecay + sparse:
                if q.grad is not None: q.grad.mul_(sc)
    else: torch.nn.utils.clip_grad_norm_(decay + nodecay, 1.0)
    for o in opts: o.step()
    if a.log and (step % a.log == 0 or step == steps - 1): hist.append((step, round(loss.item(), 4)))
train_s = time.time() - t0
vl = evaluate()
print(json.dumps(dict(rho=a.rho, nb=a.nb, eh=a.eh, seed=a.seed, routed=routed, table_rows_per_head=(m.blocks[1].engram.primes[0] if rows else 0),
    P_tot=P_tot, P_act=P_act, P_sparse_target=P_sparse, tables=n_tab, tokens=steps * B * T, steps=steps,
    val_loss=round(vl, 4), last_train_loss=round(loss.item(), 4), tok_per_s=round(steps * B * T / train_s), train_s=round(train_s, 1),
    compress=not a.no_compress, hist=hist, d=D, init=a.init, signed_sqrt=a.signed_sqrt, clip_tables=a.clip_tables, order=a.order, data=a.data, warmup=a.warmup, mem_lr=a.mem_lr)), flush=True)
