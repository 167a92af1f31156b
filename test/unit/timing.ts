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

/** What `fn` returned or threw, and how long it took in milliseconds. */
export function timed<T>(fn: () => T): { ms: number; value?: T; error?: unknown } {
  const t0 = performance.now();
  try {
    const value = fn();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}
