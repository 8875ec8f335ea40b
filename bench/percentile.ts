/**
 * The percentile the load results and the ACL micro-benchmark report. A module of its own so that the
 * ACL benchmark, pure CPU in its process, does not load the stack's emulator and host modules for it.
 */

/** The `p`th percentile (0–100) of ascending `sorted`: the value at index ⌊p/100 · n⌋, or the last; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
