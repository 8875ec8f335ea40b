/**
 * Pacing for optimistic-concurrency loops (read → change → write with the ETag → on 412/409 read
 * again). Without a pause, writers that collided once collide again in lockstep; a short random
 * pause that grows with each attempt spreads them out, so a burst of concurrent writers all land.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts before a lost race is answered 409; with the pauses below that is about a second. */
export const MAX_OPTIMISTIC_ATTEMPTS = 10;

/** Waits a random 0–(20 × attempt) ms before attempt `attempt + 1`. */
export function pauseBeforeRetry(attempt: number): Promise<void> {
  return sleep(Math.floor(Math.random() * 20 * attempt));
}
