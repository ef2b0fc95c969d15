/**
 * Injected: kill -9 of a worker process (and so of its trial process) while it trains.
 * Asserted: BullMQ's stalled-job check hands the trial to another worker, which trains it from
 * scratch; the coordinator writes each trial once (metrics steps 1..N once), nothing is lost,
 * nothing duplicated, no temp folders or orphan processes are left.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepStatus } from '../../src/sweep/status.js';
import { skipWithoutRedis, type RedisServer } from '../helpers/redis-server.js';
import {
  cli,
  expectSweepComplete,
  FAST_WORKER,
  processesWith,
  start,
  startedIn,
  tinyTrial,
  until,
  writePlan,
  type Proc,
  openRedisSandbox,
  closeRedisSandbox,
} from './fixture.js';

const skip = skipWithoutRedis('redis worker tests');

describe.skipIf(skip)('redis workers killed mid-trial', () => {
  let root: string;
  let corpus: string;
  let wtmp: string;
  let redis: RedisServer;
  const procs: Proc[] = [];
  beforeAll(async () => ({ root, corpus, wtmp, redis } = await openRedisSandbox('es-rel-workers-')));
  afterAll(() => closeRedisSandbox({ root, redis }, procs));

  const worker = () => {
    const p = start(cli('worker', '--redis', redis.url, ...FAST_WORKER), { env: { TMPDIR: wtmp } });
    procs.push(p);
    return p;
  };
  const coordinator = (plan: string, results: string) => {
    const p = start(
      cli('run', plan, '--plan', '--executor', 'redis', '--redis', redis.url, '--results', results, '--backoff', '0.2'),
    );
    procs.push(p);
    return p;
  };
  const done = (log: string) => [...log.matchAll(/^done (t[0-9a-f]{16})/gm)].map((m) => m[1]);

  it('kill -9 one of two workers mid-trial: the trial completes on the other', async () => {
    const trials = [0, 1].map((s) => tinyTrial(corpus, s, { steps: 40 }));
    writePlan(join(root, 'two.json'), 'two', trials);
    const [a, b] = [worker(), worker()];
    const coord = coordinator(join(root, 'two.json'), join(root, 'results'));
    // both trials running, one on each worker, a few steps in
    const stepping = (id: string) => new RegExp(`^${id} .* step [1-9][0-9]*/40`, 'm').test(coord.log());
    await until(
      () => startedIn(a.log()).length === 1 && startedIn(b.log()).length === 1 && trials.every((t) => stepping(t.id)),
      60_000,
      'both trials training',
    );
    // `status` reads the folder alone: both remote trials show as running, a few steps in
    await until(
      () => sweepStatus(join(root, 'results/two')).trials.every((t) => t.status === 'running' && (t.step ?? 0) > 0),
      10_000,
      'status: both running',
    );
    const victim = startedIn(a.log())[0];
    a.child.kill('SIGKILL');
    await a.exited;
    expect(await coord.exited, coord.log()).toBe(0);
    // the victim's trial went back to the queue and was trained by b, start to end
    expect(startedIn(b.log())).toContain(victim);
    expect(done(b.log()).sort()).toEqual(trials.map((t) => t.id).sort());
    expect(coord.log()).toMatch(new RegExp(`${victim}: its worker stopped answering`));
    expectSweepComplete(join(root, 'results/two'), trials);
    // collected: no progress files left, status says done
    expect(trials.map((t) => existsSync(join(root, 'results/two/trials', t.id, 'progress.json')))).toEqual([
      false,
      false,
    ]);
    expect(sweepStatus(join(root, 'results/two')).counts).toMatchObject({ done: 2, running: 0, pending: 0 });
    // the killed worker's trial process died with it
    expect(processesWith(wtmp)).toEqual([]);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 120_000);

  it('12 trials over 3 workers, one killed along the way: all 12 finish, each once', async () => {
    const trials = Array.from({ length: 12 }, (_, s) => tinyTrial(corpus, 100 + s, { steps: 12 }));
    writePlan(join(root, 'twelve.json'), 'twelve', trials);
    const workers = [worker(), worker(), worker()];
    const t0 = Date.now();
    const coord = coordinator(join(root, 'twelve.json'), join(root, 'results'));
    // kill the first worker once it has finished a trial and is running its next one
    const [victim] = workers;
    await until(
      () => done(victim.log()).length >= 1 && startedIn(victim.log()).length > done(victim.log()).length,
      90_000,
      'a worker mid-way through its second trial',
    );
    const lost = startedIn(victim.log()).at(-1)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(await coord.exited, coord.log()).toBe(0);
    const seconds = (Date.now() - t0) / 1000;
    expectSweepComplete(join(root, 'results/twelve'), trials);
    // each trial was finished by exactly one worker; the lost one by a survivor
    const finished = workers.flatMap((w) => done(w.log()));
    expect(finished.sort()).toEqual(trials.map((t) => t.id).sort());
    expect(done(victim.log())).not.toContain(lost);
    expect(coord.log()).toMatch(/sweep twelve: 12 done, 0 failed, 0 unfinished/);
    // the survivors removed the dead worker's temp folder; no trial process outlived its worker
    for (const w of workers.slice(1)) {
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    }
    expect(readdirSync(wtmp)).toEqual([]);
    expect(processesWith(wtmp)).toEqual([]);
    process.stderr.write(`12 trials over 3 workers (one killed): ${seconds.toFixed(1)} s\n`);
  }, 180_000);
});
