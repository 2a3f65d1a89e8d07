// Human renderings shared by reasons, reports and the CLI.
export { formatBytes } from './units.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(2))}m`;
  return `${Number((ms / 3_600_000).toFixed(2))}h`;
}

/** `17 forks refused at --pids-limit 32`, or '' when the cap refused none: said as OOM kills are. */
export function refusedForksText(pids: { limit: number | null; refused?: number | null }): string {
  const n = pids.refused ?? 0;
  return n > 0 ? `${n} fork${n === 1 ? '' : 's'} refused at --pids-limit ${pids.limit ?? '?'}` : '';
}
