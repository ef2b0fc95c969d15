/**
 * Save and load host tables. Format (little-endian):
 *   "ENGRAMT1" | uint32 header length H | H bytes of JSON header, space-padded so the data starts
 *   at a multiple of 16 | rows x dim float32 values in row order (the state-dict layout).
 * The data block does not depend on the shard size, so a table saved with one shard limit loads
 * under another, and numpy can read it with np.fromfile(path, '<f4', offset=dataOffset).
 * Writes go to a temp file that is renamed into place, so a crash never leaves a half table under
 * the real name; no single fs call moves more than 1 GiB (fs caps at 2 GiB, FIELD-NOTES.md).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { InputError, show } from '../contract/errors.js';
import { HostTable } from './tables.js';

const MAGIC = 'ENGRAMT1';
const FORMAT = 'engram-host-table';
const CHUNK = 2 ** 30; // bytes per fs call at most
const PREFIX = 12; // magic + header length

interface Header {
  format: typeof FORMAT;
  version: 1;
  dtype: 'float32';
  endian: 'little';
  dim: number;
  rows: number;
  sizes: number[];
}

export async function saveTable(table: HostTable, path: string): Promise<void> {
  checkHostEndian();
  const header: Header = {
    format: FORMAT,
    version: 1,
    dtype: 'float32',
    endian: 'little',
    dim: table.dim,
    rows: table.rows,
    sizes: [...table.sizes],
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((16 - ((PREFIX + Buffer.byteLength(json)) % 16)) % 16);
  const head = Buffer.alloc(PREFIX + Buffer.byteLength(json));
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(json), 8);
  head.write(json, PREFIX, 'utf8');

  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    let pos = await writeAll(fh, head, 0);
    for (const shard of table.shards) {
      pos = await writeAll(fh, new Uint8Array(shard.buffer, shard.byteOffset, shard.byteLength), pos);
    }
    await fh.datasync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function loadTable(path: string, opts: { shardBytes?: number } = {}): Promise<HostTable> {
  checkHostEndian();
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = Buffer.alloc(PREFIX);
    await readAll(fh, prefix, 0, path);
    if (prefix.toString('latin1', 0, 8) !== MAGIC) {
      throw new InputError(
        path,
        `not an engram host table (magic ${show(prefix.toString('latin1', 0, 8))}, expected ${MAGIC})`,
      );
    }
    const headerLength = prefix.readUInt32LE(8);
    if (PREFIX + headerLength > size) {
      throw new InputError(path, `header length ${headerLength} runs past the end of the ${size}-byte file`);
    }
    const headBytes = Buffer.alloc(headerLength);
    await readAll(fh, headBytes, PREFIX, path);
    const header = parseHeader(headBytes.toString('utf8'), path);
    const dataOffset = PREFIX + headerLength;
    const expected = dataOffset + header.rows * header.dim * 4;
    if (size !== expected) {
      throw new InputError(
        path,
        `file has ${size} bytes, the header's ${header.rows} x ${header.dim} float32 rows need ${expected}`,
      );
    }
    const table = zerosFor(header, opts, path);
    let pos = dataOffset;
    for (const shard of table.shards) {
      pos = await readAll(fh, new Uint8Array(shard.buffer, shard.byteOffset, shard.byteLength), pos, path);
    }
    return table;
  } finally {
    await fh.close();
  }
}

function parseHeader(text: string, path: string): Header {
  let h: Partial<Header>;
  try {
    h = JSON.parse(text) as Partial<Header>;
  } catch {
    throw new InputError(path, `header is not JSON: ${show(text)}`);
  }
  if (h.format !== FORMAT || h.version !== 1 || h.dtype !== 'float32' || h.endian !== 'little') {
    throw new InputError(
      path,
      `header ${show({ format: h.format, version: h.version, dtype: h.dtype, endian: h.endian })} is not ${FORMAT} v1 float32 little-endian`,
    );
  }
  if (!Array.isArray(h.sizes) || typeof h.dim !== 'number') {
    throw new InputError(path, 'header lacks sizes or dim', 'sizes');
  }
  const rows = h.sizes.reduce((a, b) => a + b, 0);
  if (rows !== h.rows) {
    throw new InputError(path, `header rows ${show(h.rows)} differ from the sum of sizes ${rows}`, 'rows');
  }
  return h as Header;
}

/** An empty table for the header's layout; layout errors name the file. */
function zerosFor(header: Header, opts: { shardBytes?: number }, path: string): HostTable {
  try {
    return HostTable.zeros(header.sizes, header.dim, opts);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(path, err.message, err.field);
    throw err;
  }
}

/** Write all of `data` at `pos` in calls of at most 1 GiB; returns the next position. */
async function writeAll(fh: FileHandle, data: Uint8Array, pos: number): Promise<number> {
  for (let off = 0; off < data.byteLength; ) {
    const { bytesWritten } = await fh.write(data, off, Math.min(CHUNK, data.byteLength - off), pos);
    off += bytesWritten;
    pos += bytesWritten;
  }
  return pos;
}

/** Fill all of `into` from `pos` in calls of at most 1 GiB; returns the next position. */
async function readAll(fh: FileHandle, into: Uint8Array, pos: number, path: string): Promise<number> {
  for (let off = 0; off < into.byteLength; ) {
    const { bytesRead } = await fh.read(into, off, Math.min(CHUNK, into.byteLength - off), pos);
    if (bytesRead === 0) throw new InputError(path, `file ends at byte ${pos}, expected more data`);
    off += bytesRead;
    pos += bytesRead;
  }
  return pos;
}

function checkHostEndian(): void {
  // Float32Array uses the host's byte order; every supported machine is little-endian.
  if (endianness() !== 'LE') throw new Error('engram host tables need a little-endian host');
}
