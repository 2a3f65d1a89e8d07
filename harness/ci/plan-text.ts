// A shard plan in words, for `ringfence ci --dry-run`: every shard's jobs, each with its estimate
// (and whether it had history), and each shard's expected time — what a user checks before a CI
// matrix runs it.
import type { ShardPlan } from './shard-plan.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export interface PlanSource {
  /** The history files a balanced plan was read from. */
  files: readonly string[];
  runs: number;
}

/** `needs` (each job's needs, where it has some) shows why jobs share a shard: they stay together. */
export function describePlan(
  plan: ShardPlan,
  history: PlanSource | null,
  needs: ReadonlyMap<string, readonly string[]> = new Map(),
): string {
  const total = plan.shards.length;
  const jobs = plan.shards.reduce((sum, s) => sum + s.jobs.length, 0);
  const lines: string[] = [];
  const known = [...plan.estimates.values()].filter((e) => e.known).length;
  if (plan.method === 'count') {
    lines.push(
      `shard plan ${plan.digest.slice(0, 12)}: ${jobs} jobs in ${total} shards by job count (no --balance)`,
    );
  } else {
    const from = history
      ? `${history.files.length} file${history.files.length === 1 ? '' : 's'}, ${history.runs} run${history.runs === 1 ? '' : 's'}`
      : 'no history';
    const unknown = jobs - known;
    const note =
      known === 0
        ? '; no job has history: every job counted alike'
        : unknown > 0
          ? `; ${unknown} without history counted at the median, ${seconds(plan.unknownMs ?? 0)}`
          : '';
    lines.push(
      `shard plan ${plan.digest.slice(0, 12)}: ${jobs} jobs in ${total} shards balanced by wall time (history: ${from}${note})`,
    );
  }
  const width = Math.max(0, ...plan.shards.flatMap((s) => s.jobs.map((name) => name.length)));
  plan.shards.forEach((shard, i) => {
    const expected = shard.expectedMs === null ? '' : `, expected ${seconds(shard.expectedMs)}`;
    lines.push(
      `shard ${i + 1}/${total}: ${shard.jobs.length} job${shard.jobs.length === 1 ? '' : 's'}${expected}`,
    );
    for (const name of shard.jobs) {
      const estimate = plan.estimates.get(name);
      const notes = [
        estimate && !estimate.known ? 'no history' : null,
        needs.get(name)?.length ? `needs ${needs.get(name)?.join(', ')}` : null,
      ].filter((note) => note !== null);
      const time = estimate ? `  ${seconds(estimate.ms).padStart(9)}` : '';
      const line = `  ${notes.length || estimate ? name.padEnd(width) : name}${time}`;
      lines.push(notes.length ? `${line}  (${notes.join('; ')})` : line);
    }
  });
  return `${lines.join('\n')}\n`;
}
