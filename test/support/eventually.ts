/** Retrying for tests that wait on a cluster: elections and catch-up take a moment. */

/** Retries fn until it stops throwing or the deadline passes (then rethrows the last error). */
export async function eventually<T>(fn: () => Promise<T>, deadlineMs = 20_000, pauseMs = 100): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
