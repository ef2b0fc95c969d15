/**
 * Injected: redis-server stopped mid-sweep (trials running on the worker), then started again on
 * the same port, empty (no persistence, as FIELD-NOTES starts it).
 * Decided behaviour, asserted: the coordinator says clearly that Redis is unreachable and keeps
 * waiting (so does the worker); when Redis is back it says so, finds the jobs the server lost,
 * enqueues them again, and the sweep completes: every trial written once (metrics 1..N once),
 * results collected before the outage untouched, exit 0.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutRedis, type RedisServer } from '../helpers/redis-server.js';
import {
  cli,
  exitedWithin,
  expectSweepComplete,
  FAST_WORKER,
  hasResult,
  sleep,
  start,
  tinyTrial,
  trialPath,
  until,
  writePlan,
  type Proc,
  openRedisSandbox,
  closeRedisSandbox,
} from './fixture.js';

const skip = skipWithoutRedis('redis outage test');

describe.skipIf(skip)('Redis stopped mid-sweep', () => {
  let root: string;
  let corpus: string;
  let wtmp: string;
  let redis: RedisServer;
  const procs: Proc[] = [];
  beforeAll(async () => ({ root, corpus, wtmp, redis } = await openRedisSandbox('es-rel-down-')));
  afterAll(() => closeRedisSandbox({ root, redis }, procs));

  it('the coordinator says so, waits, and finishes the sweep when Redis is back', async () => {
    const trials = Array.from({ length: 4 }, (_, s) => tinyTrial(corpus, s, { steps: 30 }));
    writePlan(join(root, 'plan.json'), 'outage', trials);
    const sweep = join(root, 'results/outage');
    const worker = start(cli('worker', '--redis', redis.url, '--concurrency', '2', ...FAST_WORKER), {
      env: { TMPDIR: wtmp },
    });
    const coord = start(
      cli(
        'run',
        join(root, 'plan.json'),
        '--plan',
        '--executor',
        'redis',
        '--redis',
        redis.url,
        '--results',
        join(root, 'results'),
      ),
    );
    procs.push(worker, coord);
    await until(
      () => trials.some((t) => hasResult(sweep, t.id)) && (coord.log().match(/^start /gm) ?? []).length >= 3,
      90_000,
      'one trial collected, more running',
    );
    const before = new Map(
      trials
        .filter((t) => hasResult(sweep, t.id))
        .map((t) => [t.id, readFileSync(trialPath(sweep, t.id, 'result.json'), 'utf8')]),
    );

    await redis.down('SIGTERM');
    await until(
      () => /redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable: waiting for it to come back/.test(coord.log()),
      10_000,
      'the coordinator to say Redis is gone',
    );
    await until(() => /is unreachable: waiting for it/.test(worker.log()), 10_000, 'the worker to say Redis is gone');
    await sleep(1500);
    expect(coord.child.exitCode).toBeNull();
    await redis.up();

    expect(await exitedWithin(coord, 90_000, { worker }), coord.log()).toBe(0);
    expect(coord.log()).toMatch(/redis is back after/);
    expect(coord.log()).toMatch(
      /trial\(s\) missing from the queue \(Redis restarted without its data\?\): enqueued again/,
    );
    expectSweepComplete(sweep, trials);
    for (const [id, text] of before) expect(readFileSync(trialPath(sweep, id, 'result.json'), 'utf8')).toBe(text);
    expect(coord.log()).toMatch(/sweep outage: 4 done, 0 failed, 0 unfinished/);
    worker.child.kill('SIGTERM');
    expect(await exitedWithin(worker, 20_000)).toBe(0);
  }, 240_000);
});
