/**
 * The request pipeline's own deadline. It must pass before the host's functionTimeout: after that
 * the host answers a bare 500 while the handler keeps running, and the audit log would describe an
 * answer the client never got.
 */

export type Raced<T> = { readonly finished: true; readonly value: T } | { readonly finished: false };

/**
 * Runs `work` with a signal that fires after `ms`. Resolves with the work's value, or with
 * `finished: false` as soon as the deadline passes; the work itself cannot be stopped from outside
 * (JavaScript has no cancellation), so it must watch the signal for anything with an effect.
 */
export async function raceDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<Raced<T>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Raced<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ finished: false });
    }, ms);
  });
  const running = work(controller.signal).then((value): Raced<T> => ({ finished: true, value }));
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
