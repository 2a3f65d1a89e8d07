// Human renderings shared by reasons, reports and the CLI.
export { formatBytes } from './units.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(2))}m`;
  return `${Number((ms / 3_600_000).toFixed(2))}h`;
}
