/** Small timing helpers of the Redis executor's event loops. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait for `p`, but no longer than `ms` (what it settles to is not needed). */
export async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p.catch(() => {}), new Promise((r) => (t = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(t);
  }
}
