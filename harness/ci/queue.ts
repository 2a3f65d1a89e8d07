// Queue mode: one run of a manifest shared by any number of machines through one BullMQ queue in
// Redis (`ringfence ci MANIFEST --queue redis://HOST:PORT --run-id ID`). Each machine pulls the next
// job whose needs passed, runs it in its sandbox and stores its entry once (HSETNX: a job that ran
// twice, after a stall, is counted once); a machine that dies mid-job loses its lock, and BullMQ's
// stalled-job check hands the job to another. A job is queued under its own name (BullMQ keeps one
// job per id, and keeps it after it completes), so a late or retried machine finds what is left and
// never reruns what ran. Only this file talks to Redis.
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Harness } from '../parallel/harness.js';
import type { JobResult } from '../job/result.js';
import type { Manifest, ManifestJob } from '../manifest/types.js';
import { InputError } from '../job/units.js';
import type { SchedulerEvent } from './scheduler.js';
import type { JobEntry } from '../../reporters/types.js';

/** Where the run's queue lives. */
export interface QueueTarget {
  url: string;
  host: string;
  port: number;
  db: number;
}

/** The queue cannot be used (unreachable, another run under that id): exit 125, nothing ran. */
export class QueueInputError extends Error {
  override readonly name = 'QueueInputError';
}

/** `redis://HOST:PORT[/DB]`; throws InputError (field `queue`). */
export function parseQueueUrl(text: string): QueueTarget {
  const match = /^redis:\/\/([^:/\s]+)(?::(\d{1,5}))?(?:\/(\d{1,2}))?\/?$/.exec(text.trim());
  const port = Number(match?.[2] ?? 6379);
  if (!match || port < 1 || port > 65535)
    throw new InputError('queue', `expected redis://HOST:PORT[/DB], got ${JSON.stringify(text)}`);
  return { url: text.trim(), host: match[1] as string, port, db: Number(match[3] ?? 0) };
}

/** A run id names the run's keys: letters, digits, `.`, `_`, `-`; throws InputError (`run-id`). */
export function parseRunId(text: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(text))
    throw new InputError(
      'run-id',
      `expected 1–100 letters, digits, ".", "_" or "-", got ${JSON.stringify(text)}`,
    );
  return text;
}

/** What every machine of a run must agree on, stored by the first to arrive. */
interface RunMeta {
  schema: 'ringfence.queue-run/1';
  digest: string;
  manifest: { file: string; name: string };
  jobs: { name: string; needs: string[] }[];
  createdAt: string;
}

const PREFIX = 'ringfence';
const keys = (runId: string) => ({
  meta: `${PREFIX}:run:${runId}:meta`,
  /** job name → its JobEntry (JSON) */
  results: `${PREFIX}:run:${runId}:results`,
  /** job name → its outcome alone: what deciding the next jobs reads */
  outcomes: `${PREFIX}:run:${runId}:outcomes`,
});

/** The first entry of a job wins, with its outcome, in one step: a job that ran twice counts once. */
const STORE_ONCE = `if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  return 1
end
return 0`;

async function storeOnce(store: RedisClient, runId: string, entry: JobEntry): Promise<boolean> {
  const { outcomes, results } = keys(runId);
  const stored = await store.eval(
    STORE_ONCE,
    2,
    outcomes,
    results,
    entry.id,
    entry.outcome,
    JSON.stringify(entry),
  );
  return stored === 1;
}
const GOOD = new Set(['passed', 'flaky']);

/** The jobs as the run knows them: names, needs, retries and commands (not paths, which differ by machine). */
function manifestDigest(manifest: Manifest): string {
  const jobs = manifest.jobs.map((job) => [job.name, job.needs, job.retries, job.spec.command]);
  return createHash('sha256')
    .update(JSON.stringify([manifest.name, jobs]))
    .digest('hex');
}

type RedisClient = import('ioredis').Redis;

async function connect(target: QueueTarget, check: boolean): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  if (!check)
    return new Redis({ host: target.host, port: target.port, db: target.db, maxRetriesPerRequest: null });
  const client = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: Error | null = null; // the socket's own error (ECONNREFUSED), which connect() does not carry
  client.on('error', (error: Error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    const failed = (cause ?? error) as NodeJS.ErrnoException;
    throw new QueueInputError(`${target.url}: cannot reach Redis: ${failed.code ?? failed.message}`);
  }
  return client;
}

/** A run on its queue, checked: reachable, and of this manifest. */
export interface OpenRun {
  target: QueueTarget;
  runId: string;
  meta: RunMeta;
  /** This machine made the run (the first to arrive). */
  created: boolean;
  store: RedisClient;
}

/**
 * Joins run `runId` (making it when this machine is the first): refuses an unreachable Redis and a
 * run id already used by another manifest, before anything runs.
 */
export async function openRun(target: QueueTarget, runId: string, manifest: Manifest): Promise<OpenRun> {
  void import('bullmq').catch(() => {}); // loads while Redis answers: work() needs it next
  const store = await connect(target, true);
  const meta: RunMeta = {
    schema: 'ringfence.queue-run/1',
    digest: manifestDigest(manifest),
    manifest: { file: manifest.file, name: manifest.name },
    jobs: manifest.jobs.map((job) => ({ name: job.name, needs: job.needs })),
    createdAt: new Date().toISOString(),
  };
  const created = (await store.set(keys(runId).meta, JSON.stringify(meta), 'NX')) === 'OK';
  if (created) return { target, runId, meta, created, store };
  const found = await readMeta(store, target, runId);
  if (found.digest !== meta.digest) {
    store.disconnect();
    throw new QueueInputError(
      `--run-id ${runId}: that run on ${target.url} is of another manifest (${found.manifest.name}, ${found.jobs.length} jobs; this one: ${manifest.name}, ${manifest.jobs.length} jobs): use another run id`,
    );
  }
  return { target, runId, meta: found, created, store };
}

async function readMeta(store: RedisClient, target: QueueTarget, runId: string): Promise<RunMeta> {
  const text = await store.get(keys(runId).meta);
  if (text === null) throw new QueueInputError(`--run-id ${runId}: no such run on ${target.url}`);
  try {
    const meta = JSON.parse(text) as RunMeta;
    if (meta.schema === 'ringfence.queue-run/1') return meta;
  } catch {
    // refused below
  }
  throw new QueueInputError(`--run-id ${runId}: ${keys(runId).meta} on ${target.url} is not a ringfence run`);
}

/** Every entry stored so far, by job name. */
async function storedEntries(store: RedisClient, runId: string): Promise<Map<string, JobEntry>> {
  const all = await store.hgetall(keys(runId).results);
  return new Map(Object.entries(all).map(([name, text]) => [name, JSON.parse(text) as JobEntry]));
}

export interface WorkOptions {
  harness: Harness;
  /** This machine's jobs (the manifest's, the same names as the run's). */
  jobs: readonly ManifestJob[];
  suite: string;
  /** A machine silent this long (ms) is taken for dead: its job goes back to the queue. */
  stallMs: number;
  /** Aborting stops this machine: its running jobs are left to the others (their locks lapse). */
  signal: AbortSignal;
  onEvent?: (event: SchedulerEvent) => void;
}

/**
 * Works on the run until every job has its entry (or `signal` aborts): queues what is ready, runs
 * what this machine pulls, stores each entry once, skips what needs a job that did not pass.
 * Returns every entry of the run, in manifest order, and how many this machine stored.
 */
export async function work(
  run: OpenRun,
  options: WorkOptions,
): Promise<{ entries: JobEntry[]; ranHere: number }> {
  const { Queue, Worker } = await import('bullmq');
  const { store, runId, target } = run;
  const connection = { host: target.host, port: target.port, db: target.db, maxRetriesPerRequest: null };
  const queue = new Queue(runId, { connection, prefix: PREFIX });
  const byName = new Map(options.jobs.map((job) => [job.name, job]));
  const worker = `${os.hostname()}/${process.pid}`;
  let ranHere = 0;

  const dependents = new Map<string, string[]>();
  for (const job of run.meta.jobs)
    for (const need of job.needs) dependents.set(need, [...(dependents.get(need) ?? []), job.name]);
  const needsOf = new Map(run.meta.jobs.map((job) => [job.name, job.needs]));
  const queued = new Set<string>(); // added by this machine: no need to ask Redis again

  // queue what is ready among `names`, skip what cannot run (and then what needs it): idempotent,
  // so every machine may do it at any time; a job is added under its own name, once for the run
  const advance = async (names: Iterable<string>): Promise<void> => {
    const pending = [...names];
    while (pending.length > 0) {
      const outcomes = await store.hgetall(keys(runId).outcomes);
      const next: string[] = [];
      const ready: string[] = [];
      for (const name of pending) {
        if (outcomes[name] !== undefined || queued.has(name)) continue;
        const needs = needsOf.get(name) ?? [];
        const failed = needs.find((need) => outcomes[need] !== undefined && !GOOD.has(outcomes[need]));
        if (failed !== undefined) {
          const entry: JobEntry = {
            id: name,
            suite: options.suite,
            outcome: 'skipped',
            result: null,
            attempts: [],
            skipReason: `needs ${failed}, which ${outcomes[failed] === 'skipped' ? 'was skipped' : `ended ${outcomes[failed]}`}`,
          };
          if (await storeOnce(store, runId, entry)) {
            const manifestJob = byName.get(name);
            if (manifestJob) options.onEvent?.({ type: 'end', job: manifestJob, entry });
          }
          next.push(...(dependents.get(name) ?? [])); // a skip may make more jobs skippable
        } else if (needs.every((need) => outcomes[need] !== undefined)) {
          ready.push(name);
        }
      }
      // attempts: a machine that lost Redis mid-store throws, and the job is pulled again
      const opts = { removeOnComplete: false, removeOnFail: false, attempts: 3 };
      if (ready.length)
        await queue.addBulk(ready.map((name) => ({ name, data: {}, opts: { ...opts, jobId: name } })));
      for (const name of ready) queued.add(name);
      pending.splice(0, pending.length, ...next);
    }
  };

  const process_ = async (name: string): Promise<void> => {
    const job = byName.get(name);
    if (!job || (await store.hexists(keys(runId).outcomes, name))) return;
    const attempts: JobResult[] = [];
    for (let attempt = 1; attempt <= job.retries + 1; attempt++) {
      options.onEvent?.({ type: 'start', job, attempt });
      const result = await options.harness.run(
        {
          ...job.spec,
          name: job.name,
          extraEnv: { ...job.spec.extraEnv, RINGFENCE_ATTEMPT: String(attempt) },
        },
        { signal: options.signal },
      );
      if (options.signal.aborted) await new Promise(() => {}); // never stored: its lock lapses, another machine runs it
      attempts.push(result);
      if (result.status === 'passed') break;
      if (attempt <= job.retries) options.onEvent?.({ type: 'retry', job, attempt, result });
    }
    const last = attempts[attempts.length - 1] ?? null;
    const outcome = last?.status === 'passed' && attempts.length > 1 ? 'flaky' : (last?.status ?? 'error');
    const entry: JobEntry = { id: name, suite: options.suite, outcome, result: last, attempts, worker };
    if (await storeOnce(store, runId, entry)) {
      ranHere++;
      options.onEvent?.({ type: 'end', job, entry });
    }
    await advance(dependents.get(name) ?? []);
  };

  await advance(run.meta.jobs.map((job) => job.name));
  const bull = new Worker(runId, async (job) => process_(job.name), {
    connection,
    prefix: PREFIX,
    concurrency: options.harness.concurrency,
    lockDuration: options.stallMs,
    stalledInterval: options.stallMs,
    // a job is handed on each time its machine dies; only a job that kills machines again and again fails
    maxStalledCount: 5,
  });
  bull.on('error', () => {}); // connection blips: ioredis reconnects
  try {
    const total = run.meta.jobs.length;
    while (!options.signal.aborted && (await store.hlen(keys(runId).outcomes)) < total)
      await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await bull.close(options.signal.aborted);
    await queue.close();
  }
  const entries = await storedEntries(store, runId);
  store.disconnect();
  return { entries: run.meta.jobs.flatMap((job) => entries.get(job.name) ?? []), ranHere };
}

/**
 * Every entry of a finished run (`ringfence merge --queue … --run-id ID`), in manifest order, with
 * the run's manifest and start. Refuses an unreachable Redis or an unknown run (QueueInputError), and
 * a run with jobs that have no entry yet (an Error naming them).
 */
export async function readRun(
  target: QueueTarget,
  runId: string,
): Promise<{ manifest: RunMeta['manifest']; createdAt: string; entries: JobEntry[] }> {
  const store = await connect(target, true);
  try {
    const meta = await readMeta(store, target, runId);
    const entries = await storedEntries(store, runId);
    const missing = meta.jobs.filter((job) => !entries.has(job.name)).map((job) => job.name);
    if (missing.length)
      throw new Error(
        `cannot merge: run ${runId} is not finished: ${missing.length} job${missing.length === 1 ? ' has' : 's have'} no result yet: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ' …' : ''}`,
      );
    return {
      manifest: meta.manifest,
      createdAt: meta.createdAt,
      entries: meta.jobs.flatMap((job) => entries.get(job.name) ?? []),
    };
  } finally {
    store.disconnect();
  }
}
