/**
 * Huge-page advice for the host tables (issue 16, item 3): the addon's adviseHugePages asks the
 * kernel for transparent huge pages on an array's 2 MiB-aligned interior, and the compute stage
 * installs it as the tables' shard advice. It must never change a value: a table built with the
 * advice equals one built without, bit for bit. Where THP is available ("always" or "madvise" in
 * /sys/kernel/mm/transparent_hugepage/enabled) the advice must cover the array's interior.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/backend/index.js';
import { HostTable, setShardAdvice } from '../../src/memory/tables.js';
import { setup, skipNative } from './util.js';

const { info } = await setup();
const skip = skipNative(info, 'test/native/huge-pages.test.ts');
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const thp = existsSync(THP) ? (/\[(\w+)\]/.exec(readFileSync(THP, 'utf8'))?.[1] ?? 'never') : 'never';
const MIB = 2 ** 20;

describe.skipIf(skip)('adviseHugePages', () => {
  it('advises the 2 MiB-aligned interior where THP is on, and leaves the values alone', () => {
    const state = loadNative();
    if (!state.ok) throw new Error(state.reason);
    const a = new Float32Array((64 * MIB) / 4);
    const advised = state.addon.adviseHugePages(a);
    if (thp === 'never' || process.platform !== 'linux') expect(advised).toBe(0);
    else {
      // the interior of a 64 MiB array: at least 62 MiB, whole 2 MiB pages
      expect(advised).toBeGreaterThanOrEqual(62 * MIB);
      expect(advised % (2 * MIB)).toBe(0);
    }
    for (let i = 0; i < a.length; i += 4099) a[i] = i;
    for (let i = 0; i < a.length; i += 4099) expect(a[i]).toBe(i);
    expect(state.addon.adviseHugePages(new Float32Array(16))).toBe(0); // smaller than one page
    expect(() => state.addon.adviseHugePages(3 as unknown as Float32Array)).toThrow(/typed array/);
  });

  it('a table built with the shard advice equals one built without, bit for bit', () => {
    const state = loadNative();
    if (!state.ok) throw new Error(state.reason);
    const sizes = [100_003, 100_019];
    const opts = { initStd: 0.02, seed: 7, shardBytes: 8 * MIB };
    let calls = 0;
    setShardAdvice((shard) => {
      calls++;
      state.addon.adviseHugePages(shard);
    });
    try {
      const advised = new HostTable(sizes, 32, opts);
      setShardAdvice(null);
      const plain = new HostTable(sizes, 32, opts);
      expect(calls).toBe(advised.shards.length);
      calls = 0;
      setShardAdvice(() => calls++);
      advised.zerosLike(); // the optimizer's moments: no advice (see tables.ts)
      expect(calls).toBe(0);
      setShardAdvice(null);
      expect(advised.shards.length).toBeGreaterThan(1);
      advised.shards.forEach((shard, k) => {
        expect(Buffer.from(shard.buffer).equals(Buffer.from(plain.shards[k].buffer))).toBe(true);
      });
    } finally {
      setShardAdvice(null);
    }
  });
});
