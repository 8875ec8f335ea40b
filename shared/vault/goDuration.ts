/**
 * Go's `time.Duration.String()` for whole seconds ("48h0m0s", "1m30s", "45s", "0s"): Vault quotes
 * durations this way in messages, and scripts match on them.
 */
export function formatGoDuration(totalSeconds: number): string {
  const seconds = Math.trunc(totalSeconds);
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  if (hours > 0) return `${sign}${hours}h${minutes}m${secs}s`;
  if (minutes > 0) return `${sign}${minutes}m${secs}s`;
  return `${sign}${secs}s`;
}
