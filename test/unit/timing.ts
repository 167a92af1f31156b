/** Helpers for tests that bound time: the machine is shared and noisy, so bounds are wide. */

/** Rejects instead of hanging when `p` takes longer than `ms` (an open of a FIFO blocks until a writer comes). */
export async function within<T>(ms: number, p: Promise<T> | (() => Promise<T>)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([typeof p === 'function' ? p() : p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Milliseconds of CPU this process has used since the call, not wall time: CI brings the labs up
 * beside the unit tests, and their load must not fail a bound meant to catch a parser gone
 * exponential (the inputs these tests bound took 5-40 s before their fixes).
 */
export function cpuClock(): () => number {
  const start = process.cpuUsage();
  return () => {
    const { user, system } = process.cpuUsage(start);
    return (user + system) / 1000;
  };
}

/** What `fn` returned or threw, and the CPU milliseconds it took. */
export function timed<T>(fn: () => T): { ms: number; value?: T; error?: unknown } {
  const cpu = cpuClock();
  try {
    const value = fn();
    return { ms: cpu(), value };
  } catch (error) {
    return { ms: cpu(), error };
  }
}
