// The shard plan the ringfence sequencer made in this Vitest process, kept for the ringfence reporter
// (the same process: Vitest's main one), which records it in the results so `ringfence merge` checks
// Vitest shards as it checks `ci` shards — or the sequencer's refusal, after which the reporter
// writes no results (a shard that ran nothing is no shard to merge, nor a history to plan from).
import type { ShardPlanRecord } from '../../reporters/types.js';

let plan: ShardPlanRecord | null = null;
let refusal: string | null = null;

export function recordShardPlan(made: ShardPlanRecord): void {
  plan = made;
}

/** The plan of this run's shard, or null when the sequencer made none (no --shard, no history). */
export function recordedShardPlan(): ShardPlanRecord | null {
  return plan;
}

export function recordShardRefusal(message: string): void {
  refusal = message;
}

/** Why the sequencer refused to plan this run's shard (an unusable history), or null. */
export function shardRefusal(): string | null {
  return refusal;
}
