/**
 * A real redis-server for tests, on a free port, with no persistence (FIELD-NOTES: BullMQ +
 * redis-server): `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no`, stopped by
 * pid. Where /usr/bin/redis-server is missing, tests skip with a one-line reason; with
 * ENGRAM_SWEEP_REQUIRE_SYSTEM=1 (CI) they fail instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.ENGRAM_SWEEP_REDIS_SERVER ?? '/usr/bin/redis-server';

/** Why redis tests cannot run here, or null when they can. */
export function redisMissing(): string | null {
  return existsSync(REDIS_SERVER) ? null : `${REDIS_SERVER} not found (apt-get install redis-server)`;
}

/** vitest's skipIf argument: true to skip (after saying why); throws when the system is required. */
export function skipWithoutRedis(what: string): boolean {
  const why = redisMissing();
  if (!why) return false;
  if (process.env.ENGRAM_SWEEP_REQUIRE_SYSTEM === '1')
    throw new Error(`${what}: ${why}, and ENGRAM_SWEEP_REQUIRE_SYSTEM=1`);
  process.stderr.write(`skipped ${what}: ${why}\n`);
  return true;
}

/** A port nobody listens on now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** PING over a raw socket: true once the server answers +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(500, () => done(false));
    c.on('error', () => done(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export class RedisServer {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'es-redis-'));
  log = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  static async start(port?: number): Promise<RedisServer> {
    const s = new RedisServer(port ?? (await freePort()));
    await s.up();
    return s;
  }

  /** Start (again, on the same port: a restarted server starts empty). */
  async up(): Promise<void> {
    if (this.proc) throw new Error('redis-server is already running');
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--daemonize',
      'no',
    ];
    const p = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => (this.log = (this.log + d).slice(-4000)));
    p.stderr!.on('data', (d) => (this.log = (this.log + d).slice(-4000)));
    this.proc = p;
    const t0 = Date.now();
    while (!(await ping(this.port))) {
      if (p.exitCode !== null || Date.now() - t0 > 10_000)
        throw new Error(`redis-server did not start on port ${this.port}: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stop by pid (SIGTERM, or SIGKILL to die like a crash) and wait for the exit. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = null;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.down('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
