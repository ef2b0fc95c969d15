import numpy as np, sys
for name, d in [('pilot words', '/tmp/ushape/data'), ('suite BPE', '/tmp/pilot-check/suite-data')]:
    tr = np.fromfile(d + '/train.u16', np.uint16).astype(np.int64)[:2048000]
    va = np.fromfile(d + '/val.u16', np.uint16).astype(np.int64)[:131073]
    comp = np.fromfile(d + '/compress.i64', np.int64)
    out = [name]
    for n in (2, 3):
        def keys(a):
            c = comp[a]; k = np.zeros(len(a) - n + 1, np.int64)
            for j in range(n - 1): k = k * 4096 + c[j:len(a) - n + 1 + j]
            return k, a[n - 1:]
        kt, yt = keys(tr); kv, yv = keys(va)
        # top-1 continuation per context
        full = kt * 4096 + yt
        u, cnt = np.unique(full, return_counts=True)
        ctx = u // 4096; nxt = u % 4096
        order = np.lexsort((-cnt, ctx)); ctx, nxt, cnt = ctx[order], nxt[order], cnt[order]
        first = np.r_[True, ctx[1:] != ctx[:-1]]
        cu, best = ctx[first], nxt[first]
        pos = np.searchsorted(cu, kv); pos[pos >= len(cu)] = 0
        seen = cu[pos] == kv
        acc = (seen & (best[pos] == yv)).mean()
        out.append(f'n={n}: ctx seen {seen.mean():.3f}, top-1 continuation right {acc:.3f}')
    print(' | '.join(out))
