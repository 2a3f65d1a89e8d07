// What a job did to the files it saw, read once it has ended: the filesystem report of its result
// and, under `outputs`, the write-back of its workdir (harness/fs/). The run (run.ts) calls it while
// the job's scratch, with its overlay's upper layers, still exists.
import { outputRules, WHOLE_WORKDIR_PROTECTED } from '../fs/outputs.js';
import { jobFilesystem, untouched, WALK_LIMITS } from '../fs/pollution.js';
import { existingTooling, hookDirs } from '../fs/tooling.js';
import type { LauncherReport } from '../launch/status.js';
import { isWithin } from './protect.js';
import type { JobDisk, JobFilesystem } from './result.js';

/** The output pattern of a capped workdir: all of it. */
export const WHOLE_WORKDIR = '**';
import { layersInodes, type Scratch } from './scratch.js';
import type { JobSpec, Volume } from './spec.js';
import type { RunOptions } from './run-options.js';

/** What the run knows of the job's files when it has ended. */
export interface FilesystemFacts {
  spec: JobSpec;
  /** No mount namespace: the job wrote the host's files whatever was asked. */
  noNamespaces: boolean;
  scratch: Scratch | null;
  reports: LauncherReport[];
  /** The job's paths its overlays do not cover. */
  notOverlaid: string[];
  /** Its volumes seen through an overlay of their own (the workdir under `outputs`). */
  overlaidVolumes: Volume[];
  derivedOutputs: RunOptions['derivedOutputs'];
  /**
   * The workdir capped by --disk / --files (enforce.ts, `workdirCapped`): every write an output, and
   * none written back when the job reached its cap — what filled the cap does not reach the host.
   */
  wholeWorkdir: { capReached: JobDisk['capReached'] } | null;
  /** RunOptions.trace's marks. */
  mark: (phase: string) => void;
}

/** The result's `filesystem`; in overlay mode under `outputs`, what may be written back is written. */
export function readJobFilesystem(f: FilesystemFacts): JobFilesystem {
  const { spec, noNamespaces, scratch, reports } = f;
  // without a mount namespace the job writes the host's files whatever was asked
  const mode = noNamespaces ? 'host' : spec.fs;
  // the layers tmpfs's inodes against the launcher's count: equal, and there is nothing to walk
  // (a kept layer is copied whatever the count)
  const layersUntouched =
    mode === 'overlay' &&
    spec.keepLayer === null &&
    untouched(reports, layersInodes(scratch?.layers?.read ?? null));
  if (layersUntouched) f.mark('layers untouched');
  const filesystem = jobFilesystem(
    mode,
    scratch?.layers?.read ?? scratch?.overlay ?? null,
    reports,
    f.notOverlaid,
    // a capped workdir is written back whole or not at all (a half-written install is worse than
    // none): its walk is bounded by the cap's own blocks and inodes, not by a count or a clock
    f.wholeWorkdir && !f.wholeWorkdir.capReached
      ? { ...WALK_LIMITS, visited: Number.POSITIVE_INFINITY, ms: Number.POSITIVE_INFINITY }
      : undefined,
    spec.keepLayer,
    layersUntouched,
    mode === 'overlay' ? outputs(f) : null,
  );
  if (f.wholeWorkdir?.capReached && filesystem.outputs)
    filesystem.outputs.refused.unshift({
      path: spec.workdir,
      reason: `the job reached its ${f.wholeWorkdir.capReached === 'files' ? '--files' : '--disk'} cap: nothing it wrote in the workdir is written back`,
    });
  return filesystem;
}

/** Under `outputs` (the workdir an overlay volume): what may be written back, known now. */
function outputs(f: FilesystemFacts): Parameters<typeof jobFilesystem>[7] {
  const { spec } = f;
  if (spec.outputs === null || !f.overlaidVolumes.some((v) => isWithin(spec.workdir, v.target))) return null;
  const sources = new Map(f.overlaidVolumes.map((v) => [v.target, v.source]));
  if (f.wholeWorkdir) {
    // as a writable workdir is bound: .git, hooks and the tooling already there stay the host's
    const patterns = [
      ...(spec.allowGitWrite ? [] : ['.git']),
      ...(spec.allowToolingWrite ? [] : WHOLE_WORKDIR_PROTECTED),
    ];
    const hooks = spec.allowToolingWrite ? [] : hookDirs(spec.workdir);
    const kept = spec.allowToolingWrite ? [] : [...existingTooling(spec.workdir), ...spec.guardedPaths];
    const user = f.wholeWorkdir.capReached ? [] : [WHOLE_WORKDIR];
    const rules = outputRules(spec.workdir, user, [], kept, hooks, patterns, true);
    return { rules, vet: null, sources };
  }
  const derived = f.derivedOutputs?.() ?? { paths: [] };
  // allowGitWrite: the user's own `.git`, named, so written back
  const user = [...spec.outputs, ...(spec.allowGitWrite ? ['.git'] : [])];
  const rules = outputRules(spec.workdir, user, derived.paths, spec.guardedPaths, hookDirs(spec.workdir));
  return { rules, vet: derived.vet ?? null, sources };
}
