/**
 * Pacing for optimistic-concurrency loops (read → change → write with the ETag → on 412/409 read
 * again). Without a pause, writers that collided once collide again in lockstep; a short random
 * pause that grows with each attempt spreads them out, so a burst of concurrent writers all land.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict } from '../vault/errors';
import { isConflict, isNotFound, isPreconditionFailed } from './tables';

/** Attempts before a lost race is answered 409; with the pauses below that is about a second. */
export const MAX_OPTIMISTIC_ATTEMPTS = 10;

/** Waits a random 0–(20 × attempt) ms before attempt `attempt + 1`. */
export function pauseBeforeRetry(attempt: number): Promise<void> {
  return sleep(Math.floor(Math.random() * 20 * attempt));
}

/**
 * Runs `attempt` (read → change → write under the read's ETag) until it returns, running it again
 * after a lost race: storage's 412 (changed since the read), 409 (created since) or 404 (deleted
 * since). Anything else, a refusal included, ends the loop. After `attempts` lost races: a 409
 * with `message`.
 */
export async function retryLostRaces<T>(attempt: () => Promise<T>, message: string, attempts = MAX_OPTIMISTIC_ATTEMPTS): Promise<T> {
  for (let i = 1; i <= attempts; i++) {
    if (i > 1) await pauseBeforeRetry(Math.min(i - 1, MAX_OPTIMISTIC_ATTEMPTS));
    try {
      return await attempt();
    } catch (err) {
      if (isPreconditionFailed(err) || isConflict(err) || isNotFound(err)) continue;
      throw err;
    }
  }
  throw conflict(message);
}
