#!/usr/bin/env node
/**
 * Build and preview the Observable notebooks offline (DESIGN: Notebooks).
 *
 * A page cannot list results/, so each notebook reads one file: ushape.html reads
 * data/ushape.json and memory.html reads data/memory.json, the bundle of a sweep's results
 * folder (src/results/bundle.ts). This script writes those two files, runs Notebook Kit's build
 * (files are baked into the build: rebuild to see other results), and serves the built pages
 * over http on 127.0.0.1 (module scripts do not run from file://).
 *
 *   node notebooks/build.mjs build   [--results DIR] [--ushape DIR] [--memory DIR] [--out DIR] [--root DIR]
 *   node notebooks/build.mjs preview [same] [--port N]     build, then serve
 *   node notebooks/build.mjs serve   [--out DIR] [--port N] serve an existing build
 *   node notebooks/build.mjs dev     [--results ...]        Notebook Kit's live preview (vite)
 *   node notebooks/build.mjs data    [--results ...]        only write notebooks/data/*.json
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const KIT = join(REPO, 'node_modules/@observablehq/notebook-kit/dist/bin/notebooks.js');
/** each notebook, the trial kind it draws, and the data file it reads */
export const NOTEBOOKS = [
  { name: 'ushape', kind: 'allocation', file: 'ushape.html', data: 'data/ushape.json' },
  { name: 'memory', kind: 'memory', file: 'memory.html', data: 'data/memory.json' },
];

const USAGE = `usage: node notebooks/build.mjs <build|preview|serve|dev|data> [options]

  build      write notebooks/data/{ushape,memory}.json from results, build the pages to --out
  preview    build, then serve the built pages on http://127.0.0.1:<port>/
  serve      serve an existing build (no rebuild)
  dev        write the data, then run Notebook Kit's live preview server on notebooks/
  data       only write the data files

  --results DIR   (or ENGRAM_SWEEP_RESULTS=DIR) a sweep's results folder (results/<sweep>) for both notebooks, or a results
                  root to choose from (default: results): <root>/examples/ushape and
                  <root>/examples/memory when present, else the newest sweep with trials of
                  the notebook's kind, else the newest sweep
  --ushape DIR    the sweep for ushape.html (overrides --results)
  --memory DIR    the sweep for memory.html (overrides --results)
  --out DIR       where the built pages go (default: notebooks/dist)
  --root DIR      where the notebooks and their data/ are staged for the build (default:
                  notebooks/; another folder gets copies of the notebooks)
  --port N        port for preview / serve (default 4173; 0 picks a free one)
`;

class UsageError extends Error {}

const isSweep = (dir) => existsSync(join(dir, 'sweep.json'));

/** Sweep folders under a results root: <root>/<sweep> and <root>/examples/<sweep>. */
function sweepsUnder(root) {
  const out = [];
  for (const base of [root, join(root, 'examples')]) {
    if (!existsSync(base) || !statSync(base).isDirectory()) continue;
    // symlinked sweep folders count too (isSweep follows links)
    for (const name of readdirSync(base)) if (isSweep(join(base, name))) out.push(join(base, name));
  }
  return out;
}

/** The sweep's trial kinds (from sweep.json) and when it last changed. */
function describeSweep(dir) {
  let sweep = {};
  try {
    sweep = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  } catch {
    // an unreadable sweep.json: still a candidate, with no known kinds
  }
  const kinds = new Set((sweep.trials ?? []).map((t) => t?.meta?.kind));
  const updated = Date.parse(sweep.updated ?? '') || statSync(join(dir, 'sweep.json')).mtimeMs;
  return { dir, kinds, updated };
}

/** The results folder each notebook reads, from the options (see USAGE). */
export function chooseSources(opts) {
  const out = {};
  let root = resolve(REPO, 'results');
  let both = null;
  if (opts.results) {
    const r = resolve(opts.results);
    if (!existsSync(r)) throw new UsageError(`--results: ${opts.results} does not exist`);
    if (isSweep(r)) both = r;
    else root = r;
  }
  const found = both
    ? []
    : sweepsUnder(root)
        .map(describeSweep)
        .sort((a, b) => b.updated - a.updated);
  for (const nb of NOTEBOOKS) {
    const explicit = opts[nb.name];
    if (explicit) {
      if (!isSweep(resolve(explicit)))
        throw new UsageError(`--${nb.name}: ${explicit} is not a sweep's results folder (no sweep.json inside)`);
      out[nb.name] = resolve(explicit);
      continue;
    }
    if (both) {
      out[nb.name] = both;
      continue;
    }
    const example = join(root, 'examples', nb.name);
    const pick = isSweep(example) ? example : (found.find((s) => s.kinds.has(nb.kind)) ?? found[0])?.dir;
    if (!pick)
      throw new UsageError(
        `no sweep results under ${relative(process.cwd(), root) || '.'}: run a sweep first (npm start) or pass --results results/<sweep>`,
      );
    out[nb.name] = pick;
  }
  return out;
}

/** The bundle of a results folder: built from its files (dist/ must be built), else its bundle.json. */
async function loadBundle(dir) {
  const lib = join(REPO, 'dist/results/bundle.js');
  if (existsSync(lib)) {
    const { bundleSweep } = await import(pathToFileURL(lib).href);
    return bundleSweep(dir);
  }
  const file = join(dir, 'bundle.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  throw new UsageError(`${dir} has no bundle.json and dist/ is not built: run npm run build first`);
}

/** Write <root>/data/<notebook>.json for each notebook; returns {name: source folder}. */
export async function writeData(opts, root = HERE) {
  const sources = chooseSources(opts);
  mkdirSync(join(root, 'data'), { recursive: true });
  for (const nb of NOTEBOOKS) {
    const bundle = await loadBundle(sources[nb.name]);
    const rel = relative(REPO, sources[nb.name]);
    // shown by the page: where its numbers come from
    bundle.source = rel.startsWith('..') ? sources[nb.name] : rel;
    writeFileSync(join(root, nb.data), JSON.stringify(bundle) + '\n');
    process.stderr.write(`${nb.data}: ${bundle.trials.length} trials from ${bundle.source}\n`);
  }
  return sources;
}

/** A build root other than notebooks/ gets copies of the notebooks and a node_modules link. */
function stage(root) {
  mkdirSync(root, { recursive: true });
  if (realpathSync(root) === realpathSync(HERE)) return;
  for (const nb of NOTEBOOKS) copyFileSync(join(HERE, nb.file), join(root, nb.file));
  // the notebooks import packages by name: vite resolves them from node_modules above the page
  let up = realpathSync(root);
  while (!existsSync(join(up, 'node_modules', '@observablehq/notebook-kit')) && dirname(up) !== up) up = dirname(up);
  if (!existsSync(join(up, 'node_modules', '@observablehq/notebook-kit')))
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
}

/** What a SIGTERM or SIGINT (Ctrl-C) stops: the kit's processes and our server. */
const children = new Set();
const servers = new Set();
let stopping = null;

/** Exit once the kit's processes and the server are gone: 143 after SIGTERM, 130 after SIGINT. */
function finish() {
  if (!stopping || children.size || servers.size) return;
  process.exit(stopping === 'SIGINT' ? 130 : 143);
}

/** SIGTERM / SIGINT: stop the kit's processes, close the server (open connections too), exit. */
export function stopOnSignal() {
  const stop = (sig) => {
    if (stopping) return;
    stopping = sig;
    process.stderr.write(`notebooks: ${sig}, stopping\n`);
    for (const c of children) c.kill('SIGTERM');
    for (const s of servers) {
      s.close(() => {
        servers.delete(s);
        finish();
      });
      s.closeAllConnections?.();
    }
    finish();
    // a child that ignores SIGTERM: do not hang
    setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
      process.exit(stopping === 'SIGINT' ? 130 : 143);
    }, 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // `npm run notebooks` runs us under `sh -c`: npm passes a SIGTERM to the shell, which dies
  // without passing it on, and we would serve on as an orphan. A changed parent means whoever
  // started us is gone: stop as if signalled.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('SIGTERM');
  }, 250).unref();
}

/** Run the kit's CLI; `quiet` drops vite's per-asset size lines (dozens of font files). */
function run(args, cwd, quiet = false) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', quiet ? 'pipe' : 'inherit', 'inherit'] });
    if (quiet) {
      child.stdout.setEncoding('utf8');
      let rest = '';
      child.stdout.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        for (const l of lines) if (!/\s[\d.]+ kB\b/.test(l) && l.trim()) process.stderr.write(l + '\n');
      });
    }
    // a stopped build.mjs stops the kit's build or server with it (stopOnSignal)
    children.add(child);
    child.on('error', rej);
    child.on('exit', () => children.delete(child));
    child.on('exit', (code, signal) => {
      if (stopping) return finish();
      if (code === 0) res();
      else rej(new Error(`notebooks ${args[1]} exited with ${code ?? signal}`));
    });
  });
}

/** Notebook Kit's build of both notebooks into `out`. */
export async function build(opts) {
  const root = resolve(opts.root ?? HERE);
  const out = resolve(opts.out ?? join(HERE, 'dist'));
  const t0 = Date.now();
  stage(root);
  await writeData(opts, root);
  const t1 = Date.now();
  await run(
    [KIT, 'build', '--root', root, '--out', out, '--empty', ...NOTEBOOKS.map((nb) => join(root, nb.file))],
    REPO,
    true,
  );
  process.stderr.write(
    `built ${NOTEBOOKS.map((nb) => nb.file).join(', ')} to ${relative(process.cwd(), out) || '.'} (data ${t1 - t0} ms, build ${Date.now() - t1} ms)\n`,
  );
  return out;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

function indexPage() {
  const links = NOTEBOOKS.map((nb) => `<li><a href="${nb.file}">${nb.file}</a></li>`).join('');
  return `<!doctype html><meta charset="utf-8"><title>engram-sweep notebooks</title><h1>engram-sweep notebooks</h1><ul>${links}</ul>`;
}

/** Serve `dir` on 127.0.0.1:port (0: a free port); resolves to {server, url}. */
export function serve(dir, port = 4173) {
  const base = resolve(dir);
  if (!existsSync(join(base, NOTEBOOKS[0].file)))
    throw new UsageError(`${dir} holds no built notebooks: run node notebooks/build.mjs build first`);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    // browsers ask for it on their own; a 404 would be logged as a console error
    if (path === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': TYPES['.html'] });
      return res.end(indexPage());
    }
    const file = resolve(base, '.' + path);
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found\n');
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((res, rej) => {
    server.on('error', rej);
    server.listen(port, '127.0.0.1', () => {
      servers.add(server);
      server.on('close', () => servers.delete(server));
      res({ server, url: `http://127.0.0.1:${server.address().port}/` });
    });
  });
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      results: { type: 'string' },
      ushape: { type: 'string' },
      memory: { type: 'string' },
      out: { type: 'string' },
      root: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  // the results to show: --results, else ENGRAM_SWEEP_RESULTS (npm run notebooks passes no arguments
  // unless given after --)
  if (values.results === undefined && process.env.ENGRAM_SWEEP_RESULTS)
    values.results = process.env.ENGRAM_SWEEP_RESULTS;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const port = values.port === undefined ? 4173 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: ${values.port} is not a port number (0-65535)`);
  const out = values.out ?? join(HERE, 'dist');
  if (command !== 'data') stopOnSignal();
  if (command === 'data') await writeData(values, values.root ? resolve(values.root) : HERE);
  else if (command === 'build') await build(values);
  else if (command === 'preview' || command === 'serve') {
    if (command === 'preview') await build(values);
    const { url } = await serve(out, port);
    // stdout: the address alone, for scripts and tests; Ctrl-C stops
    process.stdout.write(`${url}\n`);
    process.stderr.write(
      `serving ${relative(process.cwd(), resolve(out)) || '.'} at ${url} (${NOTEBOOKS.map((nb) => url + nb.file).join(', ')}); Ctrl-C stops\n`,
    );
    if (command === 'preview' && values.results === undefined && !values.ushape && !values.memory) {
      process.stderr.write(
        'to show your own sweep: npm run notebooks -- --results results/quick (or ENGRAM_SWEEP_RESULTS=results/quick npm run notebooks)\n',
      );
    }
    return null;
  } else if (command === 'dev') {
    await writeData(values);
    await run([KIT, 'preview', '--root', HERE], REPO);
  } else throw new UsageError(`unknown command ${command}: one of build, preview, serve, dev, data`);
  return 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== null) process.exitCode = code;
    },
    (e) => {
      // bad input is one line and exit 2 (an InputError from the bundle names the file)
      const input = e?.name === 'InputError' && typeof e.line === 'function';
      const usage = input || e instanceof UsageError || String(e?.code).startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`notebooks: ${input ? e.line() : usage ? e.message : (e?.stack ?? e)}\n`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
