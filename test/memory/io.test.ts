import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { loadTable, saveTable } from '../../src/memory/io.js';
import { HostTable } from '../../src/memory/tables.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engram-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveTable / loadTable', () => {
  const sizes = [31, 37, 41];
  const dim = 6;

  it('round-trips bit for bit, across different shard sizes', async () => {
    const t = new HostTable(sizes, dim, { initStd: 0.3, seed: 9, shardBytes: 4 * dim * 4 });
    const path = join(dir, 'a.etab');
    await saveTable(t, path);
    const back = await loadTable(path);
    expect(back.sizes).toEqual(sizes);
    expect(back.dim).toBe(dim);
    expect(back.shards.length).toBe(1);
    expect(back.toArray()).toEqual(t.toArray());
    const tiny = await loadTable(path, { shardBytes: 7 * dim * 4 });
    expect(tiny.shards.length).toBe(Math.ceil(109 / 7));
    expect(tiny.toArray()).toEqual(t.toArray());
    expect(await readdir(dir)).toEqual(['a.etab']); // the temp file was renamed away
  });

  it('lays the file out as documented: magic, header, aligned float32 rows', async () => {
    const t = new HostTable(sizes, dim, { initStd: 1, seed: 4 });
    const path = join(dir, 'b.etab');
    await saveTable(t, path);
    const bytes = await readFile(path);
    expect(bytes.toString('latin1', 0, 8)).toBe('ENGRAMT1');
    const h = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString('utf8', 12, 12 + h));
    expect(header).toMatchObject({ dtype: 'float32', endian: 'little', dim, rows: 109, sizes });
    expect((12 + h) % 16).toBe(0);
    const data = bytes.subarray(12 + h);
    expect(data.length).toBe(109 * dim * 4);
    const flat = t.toArray();
    for (const i of [0, 1, 200, flat.length - 1]) expect(data.readFloatLE(i * 4)).toBe(flat[i]);
  });

  it('overwrites an existing file', async () => {
    const path = join(dir, 'c.etab');
    await saveTable(new HostTable([5], 2, { initStd: 1, seed: 1 }), path);
    const t2 = new HostTable([7, 3], 4, { initStd: 1, seed: 2 });
    await saveTable(t2, path);
    expect((await loadTable(path)).toArray()).toEqual(t2.toArray());
  });

  it('rejects truncated files, foreign files and inconsistent headers with InputError', async () => {
    const path = join(dir, 'd.etab');
    await saveTable(new HostTable(sizes, dim, { initStd: 1, seed: 3 }), path);
    await truncate(path, 500);
    await expect(loadTable(path)).rejects.toThrow(/file has 500 bytes/);
    await writeFile(join(dir, 'e.etab'), 'hello, this is not a table');
    await expect(loadTable(join(dir, 'e.etab'))).rejects.toThrow(InputError);
    const json = JSON.stringify({
      format: 'engram-host-table',
      version: 1,
      dtype: 'float32',
      endian: 'little',
      dim: 2,
      rows: 9,
      sizes: [3, 4],
    });
    const head = Buffer.alloc(12);
    head.write('ENGRAMT1', 0, 'latin1');
    head.writeUInt32LE(json.length, 8);
    await writeFile(join(dir, 'f.etab'), Buffer.concat([head, Buffer.from(json), Buffer.alloc(9 * 2 * 4)]));
    await expect(loadTable(join(dir, 'f.etab'))).rejects.toThrow(/rows 9 differ from the sum of sizes 7/);
  });
});
