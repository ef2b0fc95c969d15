/**
 * Injected: bad input to every command: malformed YAML/JSON, unknown keys, wrong types,
 * out-of-range values, missing files, a results folder another spec file wrote, bad flags.
 * Asserted, per case: exit 2, exactly one line on stderr naming where (file, field or flag) and
 * what is allowed, and nothing written: each case runs in its own copy of a template folder (the
 * cache pointed inside it), whose listing (names, sizes, mtimes) must not change.
 * engram-hash ignores unknown keys by design (src/hash/request.ts: reference configs carry
 * more), so it has no unknown-key case.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CLI } from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'es-rel-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SPEC = `name: bad
data: { vocabSize: 512, seqLen: 32, valTokens: 2048 }
backbone:
  dModel: 32
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, topK: 2, expertHidden: 16 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16 }
budgets:
  - { name: tiny, ratio: 4 }
train: { steps: 5, batchSize: 8 }
axes:
  rho: [0.5]
  seeds: [0]
  variants: [engram]
`;
const HASH = {
  vocab_size: 50000,
  pad_id: 2,
  max_ngram_size: 3,
  n_head_per_ngram: 2,
  engram_vocab_size: [1000, 1000],
  layer_ids: [1],
  seed: 0,
  input_ids: [[5, 7, 9]],
};

/** The folder each case starts from. */
function template(dir: string): void {
  mkdirSync(dir);
  const w = (f: string, text: string) => writeFileSync(join(dir, f), text);
  w('spec.yaml', SPEC);
  w('malformed.yaml', 'name: bad\ndata: [1, 2\n');
  w('unknown.yaml', SPEC.replace('seqLen: 32', 'seqLen: 32, colour: red'));
  w('wrongtype.yaml', SPEC.replace('steps: 5', 'steps: "five"'));
  w('range.yaml', SPEC.replace('ratio: 4', 'ratio: -4'));
  // what would fail every trial before training: a corpus that is not there, tables of >= 2^31 rows
  w('corpus.yaml', SPEC.replace('data: { vocabSize', 'data: { corpus: missing-corpus, vocabSize'));
  w('tables.yaml', SPEC.replace(/budgets:\n.*\n/, '').replace('rho: [0.5]', 'slots: [3000000000]'));
  w('trial-corpus.json', JSON.stringify({ data: { corpus: 'missing-corpus' } }));
  w(
    'trial-tables.json',
    JSON.stringify({
      model: { engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16, baseSizes: [1e9, 1e9] } },
    }),
  );
  w('trial-unknown.json', JSON.stringify({ model: { dmodel: 4 } }));
  w('trial-type.json', JSON.stringify({ train: { steps: 'x' } }));
  w('trial-range.json', JSON.stringify({ model: { dModel: 32, nHeads: 3 } }));
  w('hash-malformed.json', '{"vocab_size": 5');
  w('hash-type.json', JSON.stringify({ ...HASH, max_ngram_size: '3' }));
  w('hash-range.json', JSON.stringify({ ...HASH, input_ids: [[5, 7, 99999]] }));
  w('weights.json', '{}');
  w('forward-unknown.json', JSON.stringify({ config: { hidden_size: 8, colour: 1 } }));
  // a results folder another spec file wrote under this spec's name; an empty folder; a broken sweep.json
  mkdirSync(join(dir, 'other/bad'), { recursive: true });
  const history = [{ specHash: 'another-spec-hash', spec: {}, at: '', file: '../../other-spec.yaml' }];
  w(
    'other/bad/sweep.json',
    JSON.stringify({
      name: 'bad',
      specHash: 'another-spec-hash',
      spec: {},
      created: '',
      updated: '',
      trials: [],
      history,
    }),
  );
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'broken'));
  w('broken/sweep.json', '{');
}

interface Case {
  cmd: string;
  args: string[];
  /** the one stderr line */
  want: RegExp;
}

const unreachable = 'redis://127.0.0.1:1';
const CASES: Case[] = [
  // run
  { cmd: 'run', args: ['malformed.yaml'], want: /malformed\.yaml: malformed YAML at line 3, column 1/ },
  { cmd: 'run', args: ['unknown.yaml'], want: /unknown\.yaml: data: unknown key\(s\) "colour"/ },
  { cmd: 'run', args: ['wrongtype.yaml'], want: /wrongtype\.yaml: train\.steps: "five": .*expected number/ },
  { cmd: 'run', args: ['range.yaml'], want: /range\.yaml: budgets\[0\]\.ratio: -4: .*>1/ },
  { cmd: 'run', args: ['spec.yaml', '--set', 'train.steps=0'], want: /train\.steps/ },
  { cmd: 'run', args: ['missing.yaml'], want: /missing\.yaml: file not found/ },
  {
    cmd: 'run',
    args: ['spec.yaml', '--results', 'other'],
    want: /other\/bad\/sweep\.json: holds the sweep of another spec file \(.*other-spec\.yaml\) under the same name; set name: in .*spec\.yaml .*--results DIR/,
  },
  {
    cmd: 'run',
    args: ['corpus.yaml'],
    want: /corpus\.yaml: data\.corpus: "missing-corpus": corpus not found: give a text file or a folder/,
  },
  {
    cmd: 'run',
    args: ['spec.yaml', '--set', 'data.corpus=missing-corpus'],
    want: /^engram-sweep: --set data\.corpus=missing-corpus: "missing-corpus": corpus not found/,
  },
  {
    cmd: 'run',
    args: ['tables.yaml'],
    want: /tables\.yaml: axes\.slots: trial t[0-9a-f]{16} \(engram slots 3000000000 seed 0\): its model\.engram\.baseSizes \[3000000000,3000000000\] gives a table of \d+ rows .*fewer than 2\^31/,
  },
  { cmd: 'run', args: ['spec.yaml', '--workers', '0'], want: /--workers: "0" is not a whole number of at least 1/ },
  {
    cmd: 'run',
    args: ['spec.yaml', '--backend', 'gpu'],
    want: /--backend: "gpu" is not one of auto, tensorflow, wasm, cpu/,
  },
  { cmd: 'run', args: ['spec.yaml', '--executor', 'lambda'], want: /--executor: "lambda" is not one of local, redis/ },
  { cmd: 'run', args: ['spec.yaml', '--executor', 'redis'], want: /--redis: is required with --executor redis/ },
  { cmd: 'run', args: ['spec.yaml', '--redis', unreachable], want: /--redis: is only used with --executor redis/ },
  {
    cmd: 'run',
    args: ['spec.yaml', '--executor', 'redis', '--redis', 'http://127.0.0.1:1'],
    want: /--redis: "http:\/\/127\.0\.0\.1:1": the scheme must be redis:\/\/ or rediss:\/\//,
  },
  {
    cmd: 'run',
    args: ['spec.yaml', '--executor', 'redis', '--redis', unreachable],
    want: /--redis: cannot reach redis:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\): start redis-server there/,
  },
  {
    cmd: 'run',
    args: ['spec.yaml', '--executor', 'redis', '--redis', unreachable, '--attempts', '0'],
    want: /--attempts: "0" is not a whole number in \[1, 100\]/,
  },
  {
    cmd: 'run',
    args: ['spec.yaml', '--executor', 'redis', '--redis', unreachable, '--workers', '2'],
    want: /--workers: does not apply to --executor redis/,
  },
  { cmd: 'run', args: ['spec.yaml', '--colour'], want: /error: unknown option '--colour'/ },
  // budget
  { cmd: 'budget', args: ['malformed.yaml'], want: /malformed\.yaml: malformed YAML/ },
  { cmd: 'budget', args: ['unknown.yaml'], want: /unknown\.yaml: data: unknown key\(s\) "colour"/ },
  { cmd: 'budget', args: ['wrongtype.yaml'], want: /wrongtype\.yaml: train\.steps: "five"/ },
  { cmd: 'budget', args: ['range.yaml'], want: /range\.yaml: budgets\[0\]\.ratio: -4/ },
  { cmd: 'budget', args: ['missing.yaml'], want: /missing\.yaml: file not found/ },
  { cmd: 'budget', args: ['spec.yaml', '--set', 'train.colour=1'], want: /colour/ },
  // train
  { cmd: 'train', args: ['trial-unknown.json'], want: /trial-unknown\.json: model: unknown key\(s\) "dmodel"/ },
  { cmd: 'train', args: ['trial-type.json'], want: /trial-type\.json: train\.steps: "x": .*expected number/ },
  { cmd: 'train', args: ['trial-range.json'], want: /trial-range\.json: model\.nHeads: 3 does not divide dModel 32/ },
  { cmd: 'train', args: ['missing.json'], want: /missing\.json: file not found/ },
  {
    cmd: 'train',
    args: ['trial-corpus.json', '--out', 'out'],
    want: /trial-corpus\.json: data\.corpus: "missing-corpus": corpus not found/,
  },
  {
    cmd: 'train',
    args: ['trial-tables.json', '--out', 'out'],
    want: /trial-tables\.json: model\.engram\.baseSizes: \[1000000000,1000000000\]: gives a table of \d+ rows .*fewer than 2\^31/,
  },
  { cmd: 'train', args: ['trial-unknown.json', '--backend', 'gpu'], want: /--backend: "gpu" is not one of/ },
  // status
  { cmd: 'status', args: ['missing'], want: /missing: has no sweep\.json: not a sweep results folder/ },
  { cmd: 'status', args: ['empty'], want: /empty: has no sweep\.json/ },
  { cmd: 'status', args: ['broken'], want: /broken\/sweep\.json: is not a sweep\.json written by engram-sweep/ },
  // fit
  { cmd: 'fit', args: ['missing'], want: /--kind: required for a table \(missing\)/ },
  { cmd: 'fit', args: ['empty'], want: /empty: not a results folder \(no trials\/ inside\)/ },
  { cmd: 'fit', args: ['empty', '--kind', 'cubic'], want: /--kind: "cubic" is not one of ushape, powerlaw/ },
  { cmd: 'fit', args: ['empty', '--resamples', '5'], want: /--resamples: "5" is not an integer >= 1000/ },
  // report
  { cmd: 'report', args: ['missing'], want: /missing: is not a folder/ },
  { cmd: 'report', args: ['empty'], want: /empty: not a results folder/ },
  // tokenizer
  {
    cmd: 'tokenizer',
    args: ['train', '--vocab-size', '100'],
    want: /--vocab-size: vocab size 100 is not allowed: use an integer in 257\.\.32768/,
  },
  { cmd: 'tokenizer', args: ['train', '--corpus', 'missing'], want: /missing: corpus not found/ },
  { cmd: 'tokenizer', args: ['stats', '--top', '-1'], want: /--top: "-1" is not allowed/ },
  {
    cmd: 'tokenizer',
    args: ['stats', '--vocab', 'nope:x'],
    want: /--vocab: unknown vocabulary "nope:x"; allowed: cl100k, o200k/,
  },
  {
    cmd: 'tokenizer',
    args: ['stats', '--vocab', 'hf:missing.json'],
    want: /missing\.json: cannot read the tokenizer file \(ENOENT\)/,
  },
  // engram-hash
  { cmd: 'engram-hash', args: ['--input', 'missing.json'], want: /missing\.json: file not found/ },
  { cmd: 'engram-hash', args: ['--input', 'hash-malformed.json'], want: /hash-malformed\.json: malformed JSON/ },
  {
    cmd: 'engram-hash',
    args: ['--input', 'hash-type.json'],
    want: /hash-type\.json: max_ngram_size: "3" is not allowed: expected an integer/,
  },
  {
    cmd: 'engram-hash',
    args: ['--input', 'hash-range.json'],
    want: /hash-range\.json: input_ids\[0\]\[2\]: 99999 is not allowed/,
  },
  { cmd: 'engram-hash', args: [], want: /error: required option '--input <file>' not specified/ },
  // engram-forward
  {
    cmd: 'engram-forward',
    args: ['--weights', 'weights.json', '--input', 'forward-unknown.json'],
    want: /forward-unknown\.json: config\.colour: unknown field; allowed: hidden_size/,
  },
  {
    cmd: 'engram-forward',
    args: ['--weights', 'missing.json', '--input', 'forward-unknown.json'],
    want: /missing\.json: file not found/,
  },
  {
    cmd: 'engram-forward',
    args: ['--input', 'forward-unknown.json'],
    want: /error: required option '--weights <file>' not specified/,
  },
  // worker
  { cmd: 'worker', args: [], want: /error: required option '--redis <url>' not specified/ },
  {
    cmd: 'worker',
    args: ['--redis', 'localhost'],
    want: /--redis: "localhost" is not a URL: expected redis:\/\/HOST:PORT/,
  },
  {
    cmd: 'worker',
    args: ['--redis', 'redis://127.0.0.1:99999'],
    want: /--redis: "redis:\/\/127\.0\.0\.1:99999" is not a URL/,
  },
  {
    cmd: 'worker',
    args: ['--redis', unreachable, '--backend', 'wasm'],
    want: /--redis: cannot reach redis:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED/,
  },
  {
    cmd: 'worker',
    args: ['--redis', unreachable, '--concurrency', '0'],
    want: /--concurrency: "0" is not a whole number in \[1, 1024\]/,
  },
  {
    cmd: 'worker',
    args: ['--redis', unreachable, '--lock-duration', 'abc'],
    want: /--lock-duration: "abc" is not a number of seconds/,
  },
  { cmd: 'worker', args: ['--redis', unreachable, '--backend', 'gpu'], want: /--backend: "gpu" is not one of/ },
  { cmd: 'worker', args: ['--redis', unreachable, '--corpus', 'missing'], want: /--corpus: "missing" not found/ },
  { cmd: 'worker', args: ['--redis', unreachable, '--queue', 'a:b'], want: /--queue: "a:b" is not a queue name/ },
];

/** names, sizes and mtimes of everything under dir */
const listing = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });

type Write = typeof process.stderr.write;

/**
 * `engram-sweep <cmd> <args>` in this process, through main(argv) as the bin calls it: the case's
 * folder as the working directory, its cache in the environment, stderr captured and stdout
 * dropped (as the spawned form did). One case at a time: cwd, env and the streams are the process's.
 */
async function runCase(c: Case, k: number): Promise<{ code: number | null; stderr: string; changed: string[] }> {
  const cwd = join(root, `case-${k}`);
  cpSync(join(root, 'template'), cwd, { recursive: true, preserveTimestamps: true });
  const before = listing(cwd);
  let stderr = '';
  const capture = (keep: boolean): Write =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (keep) stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as Write;
  const saved = {
    cwd: process.cwd(),
    cache: process.env.ENGRAM_SWEEP_CACHE,
    err: process.stderr.write,
    out: process.stdout.write,
  };
  let code: number | null;
  process.chdir(cwd);
  process.env.ENGRAM_SWEEP_CACHE = join(cwd, '.cache');
  process.stderr.write = capture(true);
  process.stdout.write = capture(false);
  try {
    code = await main([process.execPath, CLI, c.cmd, ...c.args]);
  } catch (e) {
    code = null;
    stderr += `threw: ${(e as Error).stack ?? String(e)}\n`;
  } finally {
    process.stderr.write = saved.err;
    process.stdout.write = saved.out;
    process.chdir(saved.cwd);
    if (saved.cache === undefined) delete process.env.ENGRAM_SWEEP_CACHE;
    else process.env.ENGRAM_SWEEP_CACHE = saved.cache;
  }
  const after = listing(cwd);
  return {
    code,
    stderr,
    changed: [...after.filter((l) => !before.includes(l)), ...before.filter((l) => !after.includes(l))],
  };
}

it('every command: bad input exits 2 with one clear line and writes nothing', async () => {
  template(join(root, 'template'));
  const results: Awaited<ReturnType<typeof runCase>>[] = [];
  for (let k = 0; k < CASES.length; k++) results[k] = await runCase(CASES[k], k);
  CASES.forEach((c, k) => {
    const r = results[k];
    const what = `${c.cmd} ${c.args.join(' ')}`;
    expect(r.code, `${what}: ${r.stderr}`).toBe(2);
    expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
    expect(r.stderr, what).toMatch(c.want);
    expect(r.changed, `${what} wrote`).toEqual([]);
  });
  const per = new Map<string, number>();
  for (const c of CASES) per.set(c.cmd, (per.get(c.cmd) ?? 0) + 1);
  console.log(
    `bad inputs: ${CASES.length} cases, ${per.size} commands (${[...per].map(([k, n]) => `${k} ${n}`).join(', ')})`,
  );
  expect(per.size).toBe(10);
}, 120_000); // in process, one case at a time: a few seconds (the spawned form took ~90 s)
