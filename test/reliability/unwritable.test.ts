/**
 * Injected: a results folder the file system refuses. Tests run as root, where chmod stops
 * nothing, so the refusals are ones root gets too: a path under a regular file (ENOTDIR), an
 * immutable folder (chattr +i: EPERM), and a tiny tmpfs filled up mid-sweep (ENOSPC).
 * Asserted: one clear line naming the folder and the error; nothing half-written (no temp files,
 * no result.json without its trial); a result that could not be written stays in Redis and the
 * next run collects it without training it again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';
import {
  cli,
  expectSweepComplete,
  FAST_WORKER,
  makeCorpus,
  runCli,
  start,
  startedIn,
  tempFiles,
  tinyTrial,
  until,
  writePlan,
  type Proc,
} from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'es-rel-unwritable-'));
const corpus = makeCorpus(join(root, 'corpus'));
const trials = [tinyTrial(corpus, 0, { steps: 6 }), tinyTrial(corpus, 1, { steps: 6 })];
const plan = join(root, 'plan.json');
writePlan(plan, 'ro', trials);
const local = (results: string) =>
  cli('run', plan, '--plan', '--backend', 'wasm', '--workers', '1', '--results', results);
const listing = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

/** Can this process mount a tmpfs / set the immutable flag here? (root in a container may not) */
const can = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;
const probe = join(root, 'probe');
mkdirSync(probe);
const tmpfsOk = can('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]) && can('umount', [probe]);
writeFileSync(join(probe, 'f'), '');
const chattrOk = can('chattr', ['+i', join(probe, 'f')]) && can('chattr', ['-i', join(probe, 'f')]);
for (const [ok, what] of [
  [tmpfsOk, 'mount -t tmpfs'],
  [chattrOk, 'chattr +i'],
] as const) {
  if (!ok)
    process.stderr.write(
      `skipped the ${what} case: not permitted here (run as root with CAP_SYS_ADMIN, on a file system with chattr)\n`,
    );
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  spawnSync('chattr', ['-R', '-i', root]);
  rmSync(root, { recursive: true, force: true });
});

it('results under a regular file (ENOTDIR): exit 2, one line, nothing written', () => {
  writeFileSync(join(root, 'afile'), 'x');
  const before = listing(root);
  const r = runCli(local(join(root, 'afile/results')));
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(
    /afile\/results\/ro: cannot write the results folder \(ENOTDIR: .*\); choose another with --results DIR/,
  );
  expect(listing(root)).toEqual(before);
});

it.skipIf(!chattrOk)('an immutable results folder (chattr +i; root cannot write it either): exit 2, one line', () => {
  const dir = join(root, 'immutable');
  mkdirSync(dir);
  spawnSync('chattr', ['+i', dir]);
  try {
    const r = runCli(local(dir));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/immutable\/ro: cannot write the results folder \(EPERM: /);
    expect(readdirSync(dir)).toEqual([]);
  } finally {
    spawnSync('chattr', ['-i', dir]);
  }
});

describe.skipIf(!tmpfsOk || skipWithoutRedis('the disk-full redis case'))(
  'disk full while collecting (tmpfs, redis executor)',
  () => {
    let redis: RedisServer;
    const procs: Proc[] = [];
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await redis?.stop();
    });

    it('ENOSPC: the coordinator stops with one clear line; the result waits in Redis; the rerun collects it', async () => {
      const mnt = join(root, 'mnt');
      mkdirSync(mnt);
      expect(can('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt])).toBe(true);
      mounts.push(mnt);
      const results = join(mnt, 'results');
      const argv = cli('run', plan, '--plan', '--executor', 'redis', '--redis', redis.url, '--results', results);
      const coord = start(argv);
      procs.push(coord);
      await until(() => /2 to run/.test(coord.log()), 30_000, 'the sweep to be enqueued');
      // fill the disk: sweep.json and the lock are written, nothing more fits
      const filler = join(mnt, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
      const worker = start(cli('worker', '--redis', redis.url, ...FAST_WORKER), {
        env: { TMPDIR: join(root, 'probe') },
      });
      procs.push(worker);
      expect(await coord.exited, coord.log()).toBe(1);
      expect(coord.log()).toMatch(
        /^engram-sweep: cannot write the result of t[0-9a-f]{16} to .*mnt\/results\/ro \(ENOSPC\); it stays in Redis: make room and run again to collect it$/m,
      );
      const sweep = join(results, 'ro');
      expect(tempFiles(sweep)).toEqual([]);
      for (const t of trials) expect(existsSync(join(sweep, 'trials', t.id, 'result.json'))).toBe(false);
      expect(existsSync(join(sweep, 'sweep.lock'))).toBe(false);

      rmSync(filler);
      const again = start(argv);
      procs.push(again);
      expect(await again.exited, again.log()).toBe(0);
      expectSweepComplete(sweep, trials);
      // collected, not trained again
      await until(() => (worker.log().match(/^done /gm) ?? []).length === 2, 30_000, 'the worker to finish both');
      expect(startedIn(worker.log()).sort()).toEqual(trials.map((t) => t.id).sort());
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }, 120_000);
  },
);
