// A Vitest sequencer (`sequence.sequencer`) that splits `vitest run --shard i/n` by what each test
// file cost last time, as `ringfence ci --shard i/n --balance` splits a manifest: the same planner
// (harness/ci/shard-plan.ts) over the results the ringfence reporter wrote — a file's sandbox wall
// time with the ringfence pool, Vitest's own time for it without. Files with no history get the median.
// Each shard sorts its files longest first. Works with any pool.
//
//   // vitest.config.ts
//   import { balancedSequencer } from 'ringfence/vitest/sequencer';
//   export default defineConfig({
//     test: { sequence: { sequencer: balancedSequencer({ history: 'previous/ringfence.json' }) } },
//   });
import path from 'node:path';
import { BaseSequencer, type TestSequencerConstructor, type TestSpecification } from 'vitest/node';
import { CompareInputError } from '../../reporters/compare/runs.js';
import { loadHistory, type History } from '../ci/history.js';
import { medianOf, planBalanced } from '../ci/shard-plan.js';
import { recordShardPlan, recordShardRefusal } from './shard-record.js';

export interface BalancedSequencerOptions {
  /**
   * Earlier results written by the ringfence reporter (JSON or JUnit): a file, a comma-separated list
   * or a directory, or several; relative to Vitest's root. Default: RINGFENCE_BALANCE (comma-separated).
   * Without either, Vitest's own split and order.
   */
  history?: string | string[];
}

/** The id the reporter gives a file (its path from its project's root) and its suite (the project). */
function idOf(spec: TestSpecification): { id: string; suite: string; key: string } {
  const id = path.relative(spec.project.config.root, spec.moduleId);
  const suite = spec.project.name || 'vitest';
  return { id, suite, key: JSON.stringify([suite, id]) };
}

/** A sequencer class for `sequence.sequencer`, balancing shards by `options.history`. */
export function balancedSequencer(options: BalancedSequencerOptions = {}): TestSequencerConstructor {
  return class RingfenceSequencer extends BaseSequencer {
    private history: History | null | undefined;

    /** Read once, on first use; an unusable file stops the run before any test starts, naming it. */
    private loadHistory(): History | null {
      if (this.history !== undefined) return this.history;
      const given = [options.history ?? process.env.RINGFENCE_BALANCE?.split(',') ?? []]
        .flat()
        .filter((item) => item !== '');
      const root = this.ctx.config.root;
      try {
        this.history = given.length ? loadHistory(given.map((item) => path.resolve(root, item))) : null;
      } catch (error) {
        if (!(error instanceof CompareInputError)) throw error;
        const message = `ringfence sequencer: history: ${error.message}`;
        recordShardRefusal(message);
        throw new Error(message);
      }
      return this.history;
    }

    override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
      const history = this.loadHistory();
      const { index, count } = this.ctx.config.shard ?? { index: 1, count: 1 };
      if (!history) {
        process.stderr.write(
          "ringfence sequencer: no history (the history option or RINGFENCE_BALANCE): Vitest's own split by file\n",
        );
        return super.shard(files);
      }
      // one plan on every machine: the files in a fixed order, whatever order the glob found them in
      const byKey = new Map<string, { id: string; specs: TestSpecification[] }>();
      for (const spec of files) {
        const { id, key } = idOf(spec);
        const found = byKey.get(key);
        if (found) found.specs.push(spec);
        else byKey.set(key, { id, specs: [spec] });
      }
      const keys = [...byKey.keys()].sort();
      const plan = planBalanced(
        keys.map((name) => ({ name, needs: [] })),
        count,
        (key) => {
          const [suite, id] = JSON.parse(key) as [string, string];
          return history.wallOf(id, suite);
        },
      );
      recordShardPlan({
        digest: plan.digest,
        method: plan.method,
        history: history.files,
        shards: plan.shards.map((shard) => ({
          jobs: shard.jobs.map((key) => byKey.get(key)?.id ?? key),
          expectedMs: shard.expectedMs,
        })),
      });
      return (plan.shards[index - 1]?.jobs ?? []).flatMap((key) => byKey.get(key)?.specs ?? []);
    }

    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
      const history = this.loadHistory();
      if (!history) return super.sort(files);
      const measured = new Map(files.map((spec) => [spec, history.wallOf(idOf(spec).id, idOf(spec).suite)]));
      const known = [...measured.values()].filter((ms): ms is number => ms !== undefined);
      const unknownMs = known.length ? medianOf(known) : 0;
      const cost = (spec: TestSpecification): number => measured.get(spec) ?? unknownMs;
      // groups Vitest runs one after another stay in order; within one, the longest file starts first
      return [...files].sort(
        (a, b) =>
          a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
          cost(b) - cost(a) ||
          (idOf(a).key < idOf(b).key ? -1 : idOf(a).key > idOf(b).key ? 1 : 0),
      );
    }
  };
}
