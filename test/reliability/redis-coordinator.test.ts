/**
 * Injected: kill -9 of the coordinator (`run --executor redis`) mid-sweep, while workers go on.
 * Asserted: a trial that finishes while no coordinator runs waits in Redis (completed job with
 * its return value); the restarted coordinator collects it before enqueuing anything, no trial is
 * trained twice (each started once across the workers), results written before the kill are
 * untouched, and Redis holds no jobs of the sweep at the end.
 */
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_KEY } from '../../src/sweep/redis.js';
import { skipWithoutRedis, type RedisServer } from '../helpers/redis-server.js';
import {
  cli,
  expectSweepComplete,
  FAST_WORKER,
  hasResult,
  start,
  startedIn,
  tinyTrial,
  trialPath,
  until,
  writePlan,
  type Proc,
  openRedisSandbox,
  closeRedisSandbox,
} from './fixture.js';

const skip = skipWithoutRedis('redis coordinator restart test');

describe.skipIf(skip)('coordinator restarted mid-sweep', () => {
  let root: string;
  let corpus: string;
  let wtmp: string;
  let redis: RedisServer;
  const procs: Proc[] = [];
  beforeAll(async () => ({ root, corpus, wtmp, redis } = await openRedisSandbox('es-rel-coord-')));
  afterAll(() => closeRedisSandbox({ root, redis }, procs));

  it('collects what finished while it was away; no trial lost or run twice', async () => {
    const trials = Array.from({ length: 6 }, (_, s) => tinyTrial(corpus, s, { steps: 16 }));
    writePlan(join(root, 'plan.json'), 'restart', trials);
    const sweep = join(root, 'results/restart');
    const workers = [0, 1].map(() =>
      start(cli('worker', '--redis', redis.url, ...FAST_WORKER), { env: { TMPDIR: wtmp } }),
    );
    procs.push(...workers);
    const run = () =>
      start(
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
    const done = () => workers.flatMap((w) => [...w.log().matchAll(/^done (t[0-9a-f]{16})/gm)].map((m) => m[1]));

    const first = run();
    procs.push(first);
    await until(() => trials.some((t) => hasResult(sweep, t.id)), 60_000, 'a collected trial');
    first.child.kill('SIGKILL');
    await first.exited;
    const collected = new Map(
      trials
        .filter((t) => hasResult(sweep, t.id))
        .map((t) => [t.id, readFileSync(trialPath(sweep, t.id, 'result.json'), 'utf8')]),
    );
    // a trial finishes while no coordinator runs: its result exists only in Redis
    await until(
      () => done().some((id) => !collected.has(id)),
      60_000,
      'a trial finished while the coordinator is away',
    );
    const away = done().filter((id) => !collected.has(id));
    for (const id of away) expect(hasResult(sweep, id)).toBe(false);

    const second = run();
    procs.push(second);
    expect(await second.exited, second.log()).toBe(0);
    expect(second.log()).toMatch(new RegExp(`${collected.size} done, 0 failed, ${6 - collected.size} to run`));
    expectSweepComplete(sweep, trials);
    for (const [id, text] of collected) expect(readFileSync(trialPath(sweep, id, 'result.json'), 'utf8')).toBe(text);
    // nothing trained twice, nothing lost: each trial started and finished exactly once
    const starts = workers.flatMap((w) => startedIn(w.log()));
    expect(starts.sort()).toEqual(trials.map((t) => t.id).sort());
    expect(done().sort()).toEqual(trials.map((t) => t.id).sort());
    // the finished sweep leaves no jobs in Redis and is no longer offered to workers
    const r = new Redis(redis.url);
    try {
      expect((await r.keys('*')).filter((k) => /:t[0-9a-f]{16}/.test(k))).toEqual([]);
      expect(await r.zrange(REGISTRY_KEY, 0, -1)).toEqual([]);
    } finally {
      r.disconnect();
    }
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);
  }, 150_000);
});
