/**
 * Injected, in one sweep on a Redis worker: a trial that throws (its corpus is too small to
 * split), one whose loss turns NaN (lr 1e6), one that runs out of memory (Engram tables of
 * ~50 GB while the worker runs under `ulimit -v 16 GB`, so the allocation fails at once without
 * touching memory), beside a healthy one. Then a worker whose corpus differs from the
 * coordinator's.
 * Asserted: each is recorded failed with its reason (error / diverged / oom / error: corpus
 * refused), the crashing kinds after the configured attempts with backoff, the diverged one at
 * once; the sweep completes (exit 0); --retry-failed runs the failed ones again and only them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutRedis, type RedisServer } from '../helpers/redis-server.js';
import {
  cli,
  expectSweepComplete,
  FAST_WORKER,
  start,
  startedIn,
  tinyTrial,
  trialPath,
  writePlan,
  type Proc,
  openRedisSandbox,
  closeRedisSandbox,
} from './fixture.js';

const skip = skipWithoutRedis('failure tests');

describe.skipIf(skip)('trials that fail', () => {
  let root: string;
  let corpus: string;
  let wtmp: string;
  let redis: RedisServer;
  const procs: Proc[] = [];
  beforeAll(async () => ({ root, corpus, wtmp, redis } = await openRedisSandbox('es-rel-fail-')));
  afterAll(() => closeRedisSandbox({ root, redis }, procs));
  const coordinator = (plan: string, ...extra: string[]) => {
    const p = start(
      cli(
        'run',
        plan,
        '--plan',
        '--executor',
        'redis',
        '--redis',
        redis.url,
        '--results',
        join(root, 'results'),
        '--attempts',
        '2',
        '--backoff',
        '0.2',
        ...extra,
      ),
    );
    procs.push(p);
    return p;
  };

  it('throw, NaN and out-of-memory are recorded failed with their reasons; the sweep completes', async () => {
    writeFileSync(join(root, 'small.txt'), 'A corpus of one short line.\n');
    const ok = tinyTrial(corpus, 0);
    const throws = tinyTrial(corpus, 1, { corpus: join(root, 'small.txt') });
    const nan = tinyTrial(corpus, 2, { dense: true, lr: 1e6 });
    const oom = tinyTrial(corpus, 3, { baseSizes: [400_000_000, 400_000_000] });
    const trials = [ok, throws, nan, oom];
    writePlan(join(root, 'mix.json'), 'mix', trials);
    const sweep = join(root, 'results/mix');
    // 16 GB of address space: room for V8 and the wasm heap's reservation, not for the tables
    const worker = start(cli('worker', '--redis', redis.url, ...FAST_WORKER), {
      env: { TMPDIR: wtmp },
      shell: 'ulimit -v 16000000;',
    });
    procs.push(worker);
    const coord = coordinator(join(root, 'mix.json'));
    expect(await coord.exited, coord.log()).toBe(0);
    const reasons = { [ok.id]: 'ok', [throws.id]: 'error', [nan.id]: 'diverged', [oom.id]: 'oom' };
    expectSweepComplete(sweep, trials, reasons);
    const result = (id: string) => JSON.parse(readFileSync(trialPath(sweep, id, 'result.json'), 'utf8'));
    expect(result(throws.id).message).toMatch(/corpus too small to split.*\(after 2 attempt\(s\), last on /);
    expect(result(oom.id).message).toMatch(/Array buffer allocation failed|out of memory/i);
    // lr 1e6 blows the weights up on the first update; the loss is non-finite within two steps
    // (one with stock ops, two with the fused RMSNorm, which squares in float64)
    expect(result(nan.id)).toMatchObject({ status: 'failed', reason: 'diverged' });
    expect(result(nan.id).step).toBeLessThanOrEqual(2);
    // crashes and errors were tried twice (backoff between), a divergence once: it is a result
    const starts = startedIn(worker.log());
    expect(starts.filter((id) => id === throws.id)).toHaveLength(2);
    expect(starts.filter((id) => id === oom.id)).toHaveLength(2);
    expect(starts.filter((id) => id === nan.id)).toHaveLength(1);
    expect(starts.filter((id) => id === ok.id)).toHaveLength(1);
    expect(coord.log()).toMatch(
      new RegExp(`${throws.id}: attempt 1/2 failed: error: .*corpus too small to split.*; retrying in`),
    );
    expect(coord.log()).toMatch(/sweep mix: 1 done, 3 failed, 0 unfinished/);

    // --retry-failed: the three failed ones run again (and fail the same way), the ok one does not
    const okText = readFileSync(trialPath(sweep, ok.id, 'result.json'), 'utf8');
    const again = coordinator(join(root, 'mix.json'), '--retry-failed');
    expect(await again.exited, again.log()).toBe(0);
    expect(again.log()).toMatch(/4 trials, 1 done, 0 failed, 3 to run/);
    expect(startedIn(again.log()).sort()).toEqual([throws.id, throws.id, nan.id, oom.id, oom.id].sort());
    expectSweepComplete(sweep, trials, reasons);
    expect(readFileSync(trialPath(sweep, ok.id, 'result.json'), 'utf8')).toBe(okText);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 150_000);

  it('a worker whose corpus differs refuses the job; it is recorded failed with the reason', async () => {
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'book.txt'), readFileSync(join(corpus, 'blake-poems.txt'), 'utf8').replace(/e/g, 'E'));
    const t = tinyTrial(corpus, 7);
    writePlan(join(root, 'refuse.json'), 'refuse', [t]);
    const worker = start(cli('worker', '--redis', redis.url, '--corpus', other, ...FAST_WORKER), {
      env: { TMPDIR: wtmp },
    });
    procs.push(worker);
    const coord = coordinator(join(root, 'refuse.json'));
    expect(await coord.exited, coord.log()).toBe(0);
    const r = JSON.parse(readFileSync(trialPath(join(root, 'results/refuse'), t.id, 'result.json'), 'utf8'));
    expect(r).toMatchObject({ status: 'failed', reason: 'error' });
    expect(r.message).toMatch(
      /^corpus .*other on worker .* has content hash [0-9a-f]{12}, the coordinator's has [0-9a-f]{12}: refused .*\(after 2 attempt\(s\)/,
    );
    expect(worker.log()).toMatch(new RegExp(`refused ${t.id}: corpus`));
    expect(startedIn(worker.log())).toEqual([]);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);
});
