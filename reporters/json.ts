// The JSON results file (`ringfence.results/1`): the source of truth that JUnit, `merge` and
// `compare` read. Written atomically; read back through a zod schema, so a truncated, foreign or
// hand-edited file is refused with the file and the first bad field named, never half-used.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from '../harness/vendor/zod.js';
import { RESULTS_SCHEMA, type RunReport } from './types.js';
import { writeFileAtomic } from './atomic.js';

// Objects are loose: a file from a newer writer of the same schema version (fields are added, never
// renamed) keeps its extra fields through read → merge → write instead of silently losing them.
const obj = z.looseObject;
const int = () => z.number().int();
const isoDate = () => z.iso.datetime({ offset: true });

const jobStatus = z.enum(['passed', 'failed', 'timeout', 'oom', 'signaled', 'error', 'aborted']);

const processInfo = obj({
  pid: int(),
  ppid: int(),
  nsPid: int().nullable(),
  state: z.string(),
  rssBytes: z.number(),
  cmdline: z.string(),
});

/** A path a job added, changed or deleted: in the pollution report and among written-back outputs. */
const fsChange = obj({
  path: z.string(),
  kind: z.enum(['added', 'changed', 'deleted']),
  bytes: z.number(),
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  replaced: z.boolean().optional(),
});
const pressureMs = obj({ someMs: z.number(), fullMs: z.number().nullable() }).nullable();

// a service's result has every field of a job's but services of its own: one level, no recursion
const serviceJobResult = obj({
  name: z.string(),
  command: z.array(z.string()),
  status: jobStatus,
  exitCode: int().nullable(),
  signal: z.string().nullable(),
  reason: z.string(),
  termination: z.enum(['wall-timeout', 'cpu-timeout', 'abort']).nullable(),
  startedAt: isoDate(),
  wallMs: z.number(),
  cpu: obj({ userMs: z.number(), systemMs: z.number(), totalMs: z.number() }),
  memory: obj({
    peakBytes: z.number().nullable(),
    limitBytes: z.number().nullable(),
    oomKills: z.number(),
    failcnt: z.number(),
    maxRssBytes: z.number().nullable(),
  }),
  pids: obj({
    peak: z.number().nullable(),
    limit: z.number().nullable(),
    // added in 0.4
    refused: int().nonnegative().nullable().optional(),
  }),
  // added in 0.5: --disk / --files
  disk: obj({
    bytes: z.number().nullable(),
    files: z.number().nullable(),
    limitBytes: z.number().nullable(),
    limitFiles: z.number().nullable(),
    capReached: z.enum(['disk', 'files']).nullable(),
  }).optional(),
  io: obj({
    readBytes: z.number(),
    writeBytes: z.number(),
    // added after the first release of the schema: absent in older files
    rchar: z.number().optional(),
    wchar: z.number().optional(),
    source: z.enum(['task', 'cgroup']).optional(),
    cgroup: obj({ readBytes: z.number(), writeBytes: z.number() }).nullable().optional(),
  }).nullable(),
  limits: obj({
    timeoutMs: z.number().nullable(),
    cpuTimeMs: z.number().nullable(),
    cpus: z.number().nullable(),
  }),
  stdout: z.string(),
  stderr: z.string(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  // added in 0.4: only with RunOptions.trace
  trace: z.array(obj({ phase: z.string(), ms: z.number() })).optional(),
  // added in 0.4: absent when never paused
  pauses: z.array(obj({ atMs: z.number().nonnegative(), forMs: z.number().nonnegative() })).optional(),
  error: obj({ step: z.string(), code: z.string().nullable(), message: z.string() }).nullable(),
  // added in 0.2: absent in older files
  pressure: obj({ cpu: pressureMs, memory: pressureMs, io: pressureMs }).nullable().optional(),
  enforcement: obj({
    placement: z.enum(['cgroup-parent', 'own', 'systemd-scope', 'leaf', 'none']),
    where: z.string(),
    namespaces: z.enum(['all', 'userns', 'none']),
    notEnforced: z.array(z.string()),
    figures: z.enum(['cgroup', 'rusage']),
  }).optional(),
  // added in 0.3: absent in older files
  filesystem: obj({
    mode: z.enum(['overlay', 'read-only', 'host']),
    changes: z.array(fsChange).nullable(),
    truncated: int().nonnegative(),
    incomplete: z.boolean().optional(),
    readOnly: z
      .array(obj({ path: z.string(), code: z.string(), dirsOverlaid: z.boolean().optional() }))
      .optional(),
    kept: obj({
      path: z.string(),
      format: z.enum(['dir', 'tar']),
      entries: int().nonnegative(),
      skipped: int().nonnegative().optional(),
      stripped: z.array(z.string()).optional(),
      incomplete: z.boolean().optional(),
      error: z.string().optional(),
    }).optional(),
    // added in 0.5: only with `outputs`
    outputs: obj({
      workdir: z.string(),
      written: z.array(fsChange),
      writtenTruncated: int().nonnegative().optional(),
      refused: z.array(obj({ path: z.string(), reason: z.string() })),
      incomplete: z.boolean().optional(),
    }).optional(),
  }).optional(),
  diagnostics: obj({
    cgroupVersion: z.union([z.literal(1), z.literal(2)]).nullable(),
    processTree: z.array(processInfo).nullable(),
  }),
});

const netConnection = obj({
  host: z.string(),
  port: int().min(1).max(65535),
  via: z.enum(['connect', 'http']),
  allowed: z.boolean(),
  bytesOut: int().nonnegative(),
  bytesIn: int().nonnegative(),
  error: z.string().optional(),
  tlsName: z.string().optional(),
  httpHost: z.string().optional(),
  reason: z.string().optional(),
});

const jobResult = serviceJobResult.extend({
  // added in 0.5: only under --network allow:…
  network: obj({
    mode: z.literal('allow'),
    allow: z.array(z.string()),
    connections: z.array(netConnection),
    truncated: int().nonnegative(),
    overLimit: int().positive().optional(),
  }).optional(),
  // added in 0.4: absent when the job had no services
  services: z
    .array(
      obj({
        name: z.string(),
        outcome: z.enum(['ended', 'exited', 'not-ready', 'not-started']),
        readyMs: z.number().nonnegative().nullable(),
        result: serviceJobResult.nullable(),
      }),
    )
    .optional(),
});

const jobEntry = obj({
  id: z.string(),
  suite: z.string(),
  outcome: z.enum([...jobStatus.options, 'flaky', 'skipped']),
  result: jobResult.nullable(),
  attempts: z.array(jobResult),
  skipReason: z.string().optional(),
  repeat: int().nonnegative().optional(),
  sandboxShared: int().positive().optional(),
  // added with balanced shards: absent in older files
  durationMs: z.number().nonnegative().optional(),
  // added with queue mode: absent in older files and runs without --queue
  worker: z.string().optional(),
  tests: z
    .array(
      obj({
        name: z.string(),
        outcome: z.enum(['passed', 'failed', 'skipped']),
        durationMs: z.number(),
        message: z.string().optional(),
      }),
    )
    .optional(),
});

/** The zod schema of a `ringfence.results/1` file; its output type is checked against RunReport. */
export const runReportSchema = obj({
  schema: z.literal(RESULTS_SCHEMA),
  ringfence: obj({ version: z.string() }),
  host: obj({
    hostname: z.string(),
    kernel: z.string(),
    arch: z.string(),
    cpus: int().nonnegative(),
    cgroupVersion: z.union([z.literal(1), z.literal(2)]).nullable(),
    // added in 0.2
    placement: z.string().optional(),
    privileges: z.enum(['root', 'rootless', 'namespaces only']).optional(),
  }),
  startedAt: isoDate(),
  finishedAt: isoDate(),
  wallMs: z.number(),
  git: obj({ commit: z.string(), branch: z.string().nullable() }).nullable(),
  manifest: obj({ file: z.string(), name: z.string() }).nullable(),
  shard: obj({ index: int().nonnegative(), total: int().positive() }).nullable(),
  limits: obj({ defaults: z.record(z.string(), z.unknown()), concurrency: int().positive() }),
  interrupted: z.boolean(),
  // added with balanced shards: absent in older files and unsharded runs
  plan: obj({
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    method: z.enum(['count', 'balanced']),
    history: z.array(z.string()).optional(),
    shards: z
      .array(obj({ jobs: z.array(z.string()), expectedMs: z.number().nonnegative().nullable() }))
      .min(1),
  }).optional(),
  jobs: z.array(jobEntry),
}) satisfies z.ZodType<RunReport>;

/** `jobs[3].result.memory.peakBytes: Invalid input: expected number, received string` */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  let where = '';
  for (const key of issue.path) {
    where += typeof key === 'number' ? `[${key}]` : `${where ? '.' : ''}${String(key)}`;
  }
  return `${where || '(top level)'}: ${issue.message}`;
}

/**
 * Writes the results file atomically (temp file + fsync + rename). The report is validated first:
 * a file this function writes is always one readResultsFile accepts (a NaN would become `null`).
 */
export function writeResultsFile(file: string, report: RunReport): void {
  const checked = runReportSchema.safeParse(report);
  if (!checked.success) {
    throw new Error(
      `refusing to write ${file}: not a valid ${RESULTS_SCHEMA} report: ${firstIssue(checked.error)}`,
    );
  }
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Reads and validates a results file; throws an Error naming the file and the first bad field. */
export function readResultsFile(file: string): RunReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`cannot read results file ${file}: ${code} (${(err as Error).message})`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const what = text.trim() === '' ? 'it is empty' : (err as Error).message;
    throw new Error(`results file ${file} is not valid JSON (truncated or not a results file?): ${what}`, {
      cause: err,
    });
  }
  const found = (data as { schema?: unknown } | null)?.schema;
  if (typeof found === 'string' && found !== RESULTS_SCHEMA) {
    throw new Error(`results file ${file} has schema "${found}"; this ringfence reads ${RESULTS_SCHEMA}`);
  }
  const parsed = runReportSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(
      `results file ${file} is not a valid ${RESULTS_SCHEMA} file: ${firstIssue(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** The host part of a RunReport. `cgroupVersion` comes from the caller's cgroup detection. */
export function hostInfo(
  cgroupVersion: 1 | 2 | null,
  enforcement?: { where: string; placement: string },
): RunReport['host'] {
  return {
    ...(enforcement === undefined
      ? {}
      : {
          placement: enforcement.where,
          privileges:
            enforcement.placement === 'none'
              ? ('namespaces only' as const)
              : // harness/identity.ts's test (reporters import only types from the harness)
                process.geteuid?.() === 0
                ? ('root' as const)
                : ('rootless' as const),
        }),
    hostname: os.hostname(),
    kernel: os.release(),
    arch: os.arch(),
    // what the jobs can actually use (CPU affinity included), not every CPU the machine has
    cpus: os.availableParallelism(),
    cgroupVersion,
  };
}

/** Commit and branch of the repository at `cwd`, read from its files (reporters/git.ts). */
export { gitInfo } from './git.js';
