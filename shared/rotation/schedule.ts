/**
 * Whether a scheduled rotation is due now: pure functions of the config and a clock, so the timer's
 * decisions are unit-tested on a controlled clock. Parsing `rotation_schedule` and the `next_rotation`
 * shown by config read live in shared/config/rotation.ts; this builds on them so both agree.
 *
 * Rules (Vault's rotation manager, made durable):
 *  - Nothing is due when `disable_automated_rotation` is set or neither schedule nor period is.
 *  - The anchor is the later of the last completed rotation and the moment the rotation settings
 *    last changed: occurrences before it are not owed (setting a schedule does not rotate at once).
 *  - Schedule: the latest occurrence at or before now is due if it is after the anchor and, when a
 *    window is set, now is still inside [occurrence, occurrence + window). A window of 0 means no
 *    limit: a missed occurrence is made up whenever the timer next runs.
 *  - Period: due once now ≥ anchor + period.
 */
import { automatedRotationActive, parseRotationSchedule } from '../config/rotation';
import type { MountConfig } from '../config/types';

export type RotationDue =
  | { readonly due: true; readonly reason: 'schedule' | 'period'; readonly occurrence: Date }
  | {
      readonly due: false;
      /** When the next rotation would be due, if any is configured. */
      readonly next?: Date;
      /** A scheduled occurrence whose window closed before it could run. */
      readonly missed?: Date;
    };

export function rotationDue(config: MountConfig, now: Date): RotationDue {
  if (!automatedRotationActive(config)) return { due: false };
  const anchor = rotationAnchor(config);
  if (config.rotationSchedule !== '') return scheduleDue(config, anchor, now);
  if (anchor === undefined) return { due: false };
  const dueAt = new Date(anchor + config.rotationPeriodSeconds * 1000);
  return now.getTime() >= dueAt.getTime() ? { due: true, reason: 'period', occurrence: dueAt } : { due: false, next: dueAt };
}

/** Epoch ms of the later of the last rotation and the last change of the rotation settings. */
export function rotationAnchor(config: Pick<MountConfig, 'rotationConfiguredAt' | 'lastRotation'>): number | undefined {
  const times = [config.lastRotation, config.rotationConfiguredAt].map((t) => (t ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : undefined;
}

function scheduleDue(config: MountConfig, anchor: number | undefined, now: Date): RotationDue {
  const parsed = parseRotationSchedule(config.rotationSchedule);
  // Config write refuses an unparsable schedule; one stored before a parser change is simply inert.
  if (!parsed.ok) return { due: false };
  const next = parsed.cron.nextRun(now) ?? undefined;
  const latest = latestOccurrence(parsed.cron, now);
  if (latest === undefined || anchor === undefined || latest.getTime() <= anchor) return withNext({ due: false }, next);
  const windowMs = config.rotationWindowSeconds * 1000;
  if (windowMs === 0 || now.getTime() < latest.getTime() + windowMs) return { due: true, reason: 'schedule', occurrence: latest };
  return withNext({ due: false, missed: latest }, next);
}

function withNext(result: { due: false; missed?: Date }, next: Date | undefined): RotationDue {
  return next ? { ...result, next } : result;
}

interface CronLike {
  previousRuns(n: number, reference?: Date): Date[];
}

/** The latest occurrence at or before `now` (croner's previousRuns excludes its reference instant). */
function latestOccurrence(cron: CronLike, now: Date): Date | undefined {
  const candidates = cron.previousRuns(2, new Date(now.getTime() + 1000));
  return candidates.find((run) => run.getTime() <= now.getTime());
}
