/**
 * The Redis connection of the coordinator and the workers: a checked URL, and a connection that
 * rides out outages once it has worked.
 */
import { Redis } from 'ioredis';
import { InputError, show } from '../../contract/errors.js';

/** Check a redis:// URL's shape (one InputError line when it is not one). */
export function parseRedisUrl(url: string, flag = '--redis'): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(flag, `${show(url)} is not a URL: expected redis://HOST:PORT (or rediss://)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new InputError(flag, `${show(url)}: the scheme must be redis:// or rediss://`);
  if (!u.hostname) throw new InputError(flag, `${show(url)} names no host: expected redis://HOST:PORT`);
  if (u.port && !(Number(u.port) >= 1 && Number(u.port) <= 65535))
    throw new InputError(flag, `${show(url)}: port must be 1..65535`);
  return url;
}

/**
 * A connection that rides out outages (commands wait for the reconnect, as BullMQ needs), or an
 * InputError when the server cannot be reached now: nothing has been written at that point.
 */
export async function connectRedis(url: string, flag = '--redis', timeoutMs = 5000): Promise<Redis> {
  parseRedisUrl(url, flag);
  // no retries until the first connection works (fail fast, exit promptly); then forever
  let up = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: (n) => (up ? Math.min(250 * n, 2000) : null),
  });
  let last = '';
  const onError = (e: Error) => (last = e.message);
  redis.on('error', onError);
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(last || `no answer in ${timeoutMs / 1000} s`)), timeoutMs).unref(),
  );
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timer]);
  } catch (e) {
    // (disconnect on a socket that never opened keeps the process ~2 s: ioredis' disconnectTimeout)
    if (redis.status !== 'end') redis.disconnect();
    throw new InputError(
      flag,
      `cannot reach ${url} (${last || (e as Error).message}): start redis-server there, or fix the URL`,
    );
  }
  redis.off('error', onError);
  up = true;
  return redis;
}
