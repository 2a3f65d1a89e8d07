// ringfence as a Vitest 4 pool: every test file runs in a worker that Vitest's own forks entry
// provides, started through the one job lifecycle (runJob) — its own namespaces, a cgroup with
// caps, a wall-clock limit — and talking to Vitest over a Node IPC channel the sandbox keeps open.
//
//   // vitest.config.ts
//   import { ringfence } from 'ringfence/vitest';
//   export default defineConfig({ test: { pool: ringfence({ memory: '512m' }), isolate: true } });
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { generateFileHash, type PoolOptions, type PoolRunnerInitializer, type PoolWorker } from 'vitest/node';
import { protectPackage } from '../job/protect.js';
import type { JobResult } from '../job/result.js';
import type { RunningJob } from '../job/run-options.js';
import type { JobSpecInput } from '../job/spec.js';
import { killedMessage, recordFile, trackRun } from './results.js';
import { COMPILE_CACHE_ENV, compileCache, removeCompileCaches } from './compile-cache.js';
import { guardedPaths, hiddenVitestPaths, liveWritable } from './project-paths.js';
import { snapshotOutputs } from './snapshot-outputs.js';
import { jobOptions, validateOptions, type RingfenceVitestOptions } from './pool-options.js';
import { PoolTrace } from './pool-trace.js';
import { WorkerSandbox, prepareSpare, takeSpare, workerStarted, workerStopped } from './spare-worker.js';

export { validateOptions, type RingfenceVitestOptions };

/** As Vitest's forks pool: a worker that ignores SIGTERM is killed after this long. */
const STOP_GRACE_MS = 500;

export function ringfence(options: RingfenceVitestOptions = {}): PoolRunnerInitializer {
  validateOptions(options);
  return {
    name: 'ringfence',
    createPoolWorker: (poolOptions) => new RingfencePoolWorker(poolOptions, options),
  };
}

/** What a test-run request names: the files the worker is about to run. */
function filesOf(message: unknown): string[] {
  const context = (message as { context?: { files?: { filepath?: string }[] } } | null)?.context;
  return (context?.files ?? []).map((f) => f.filepath ?? '').filter(Boolean);
}

class RingfencePoolWorker implements PoolWorker {
  readonly name = 'ringfence';
  /** Vitest's cacheFs hands modules over as files under the host's tmpdir, which a sandbox's private /tmp hides. */
  readonly cacheFs = false;
  private readonly events = new EventEmitter();
  private job: RunningJob | null = null;
  private run: Promise<JobResult> | null = null;
  private stopping = false;
  /** How the sandbox ended, once it has: from then on the pool answers Vitest for the worker. */
  private endResult: JobResult | null = null;
  /** Vitest sent `start` and the worker has not answered `started` yet. */
  private awaitingStarted = false;
  /** A request with files was sent and its `testfileFinished` has not come back. */
  private inFlight = false;
  /** The worker sent anything at all: a sandbox whose worker never did never really started. */
  private spoke = false;
  private files: string[] = [];
  /**
   * Every file this sandbox was given. One per sandbox with `isolate: true`; with `isolate: false`
   * Vitest reuses the worker for many, and each one's figures are then the shared sandbox's.
   */
  private readonly ranFiles = new Set<string>();
  /** File task ids the worker reported as collected before it could have died. */
  private readonly collected = new Set<string>();
  /** Counted among the run's live workers (spare-worker.ts) until stop(). */
  private counted = false;
  private readonly trace = PoolTrace.create();
  private sandbox: WorkerSandbox | null = null;

  constructor(
    private readonly poolOptions: PoolOptions,
    private readonly options: RingfenceVitestOptions,
  ) {}

  on(event: string, callback: (arg: unknown) => void): void {
    this.events.on(event, callback);
  }

  off(event: string, callback: (arg: unknown) => void): void {
    this.events.off(event, callback);
  }

  send(message: unknown): void {
    const type = (message as { type?: string } | null)?.type;
    const files = filesOf(message);
    if (files.length) this.files = files;
    for (const file of files) this.ranFiles.add(file);
    // Vitest stops a worker with this message before it calls stop(): whatever ends the sandbox from
    // here on is the normal end, not a verdict on the files
    if (type === 'stop') this.stopping = true;
    if (this.endResult) {
      this.answerForEnded(type, files, this.endResult);
      return;
    }
    if (type === 'start') this.awaitingStarted = true;
    if (files.length) this.inFlight = true;
    this.job?.ipc?.send(message as object);
  }

  /**
   * The sandbox is gone (it could not start, or ended): Vitest's requests get the answers the worker
   * would have given, so the run goes on — `started`, the request's files failed with the cause, and
   * `stopped` — instead of waiting out Vitest's start or stop timeout.
   */
  private answerForEnded(type: string | undefined, files: string[], result: JobResult): void {
    setImmediate(() => {
      if (type === 'start') this.respond('started');
      else if (type === 'stop') this.respond('stopped');
      else if (files.length) this.failFiles(files, result);
    });
  }

  private respond(type: string): void {
    this.events.emit('message', { __vitest_worker_response__: true, type });
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  async start(): Promise<void> {
    if (this.run) return;
    this.trace?.mark('start');
    workerStarted();
    this.counted = true;
    const spec = this.jobSpec();
    const project = this.poolOptions.project;
    const options = {
      // the next file's launcher (with its channel) is started and joined to a cgroup while this
      // file runs: a worker then starts without waiting for the cgroup write's RCU grace period
      stdout: project.vitest.logger.outputStream,
      stderr: project.vitest.logger.errorStream,
    };
    // with isolate: true every file of the project gets a worker of this very spec: the next one's
    // sandbox and Node process start while this file runs (spare-worker.ts)
    const key = JSON.stringify(spec);
    const isolate = project.config.isolate !== false;
    const spare = isolate ? takeSpare(key) : null;
    if (spare) this.trace?.mark('spare');
    const sandbox = spare ?? new WorkerSandbox(key, spec, options);
    this.sandbox = sandbox;
    // at once: a worker's Node start (Vitest's worker code loaded) outlasts a small file's tests
    if (isolate) prepareSpare(key, () => new WorkerSandbox(key, spec, options));
    sandbox.adopt({
      onMessage: (message) => this.onWorkerMessage(message),
      // read when the sandbox has ended: the files it ran are known then (several with isolate: false)
      derivedOutputs: () =>
        snapshotOutputs(this.ranFiles, {
          snapshotPath: (file) =>
            project.vitest.snapshot.resolvePath(file, { config: project.serializedConfig }),
          roots: [project.config.root, process.cwd()],
        }),
    });
    this.run = sandbox.run;
    trackRun(this.run);
    void this.run.then((result) => this.ended_(result));
    // a sandbox that could not start resolves the run without ever starting
    this.job = await sandbox.started;
    this.trace?.mark('released');
  }

  /** The job every file's worker runs: Vitest's forks entry in a sandbox with the pool's options. */
  private jobSpec(): JobSpecInput {
    const base = jobOptions(this.options);
    const entry = path.join(this.poolOptions.distPath, 'workers', 'forks.js');
    // Vitest's own process is the harness here: what it loads (vitest and its dependencies) is made
    // read-only to every test file, as ringfence's own files are
    protectPackage(path.dirname(this.poolOptions.distPath));
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.poolOptions.env))
      if (value !== undefined) env[key] = value;
    // Vitest's worker code compiled once by the host, read-only here (compile-cache.ts): the worker
    // entry, then `vitest` itself, which every test file imports
    const cacheModules = [entry, path.join(this.poolOptions.distPath, 'index.js')];
    const cache = compileCache(this.poolOptions.execArgv, cacheModules, env);
    if (cache) env[COMPILE_CACHE_ENV] = cache;
    return {
      ...base,
      name: 'vitest worker',
      // Only Vitest's execArgv: no V8 heap flag of the pool's own. Any --max-old-space-size makes every
      // Node start slower (measured: ~45 ms of CPU a test file, 9% of a 50-file run on a 2-core host),
      // and a file whose heap outgrows the memory cap is ended by the OOM killer and reported as such
      // (README, "Vitest pool"). A user who wants V8's own message sets it in Vitest's execArgv.
      command: [process.execPath, ...this.poolOptions.execArgv, entry],
      env,
      workdir: process.cwd(),
      volumes: [
        ...hiddenVitestPaths(
          this.poolOptions.distPath,
          this.poolOptions.project.config.root,
          base.outputs !== undefined,
        ),
        ...(base.outputs === undefined ? [] : liveWritable(this.options.writable ?? [])),
        ...(cache ? [`${cache}:${cache}:ro`] : []),
      ],
      guardedPaths: guardedPaths(this.poolOptions.project),
    };
  }

  private onWorkerMessage(message: unknown): void {
    this.spoke = true;
    const response = message as { __vitest_worker_response__?: boolean; type?: string } | null;
    if (response?.__vitest_worker_response__ && response.type === 'started') {
      this.awaitingStarted = false;
      this.trace?.mark('started');
    }
    if (response?.__vitest_worker_response__ && response.type === 'testfileFinished') this.inFlight = false;
    const rpc = message as { t?: string; m?: string; a?: unknown[] } | null;
    // what a worker sends is the job's to choose: a malformed one must not throw here
    if (rpc?.t === 'q' && rpc.m === 'onCollected' && Array.isArray(rpc.a?.[0])) {
      for (const file of rpc.a[0] as ({ id?: unknown } | null)[])
        if (typeof file?.id === 'string') this.collected.add(file.id);
    }
    this.events.emit('message', message);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.trace?.mark('stop');
    // the last worker of the run to stop ends the spare too, and waits for it
    const runOver = this.counted ? workerStopped() : Promise.resolve(false);
    this.counted = false;
    const job = this.job;
    if (job && this.run) {
      job.signal('SIGTERM');
      const force = setTimeout(() => job.abort(), STOP_GRACE_MS);
      await this.run;
      clearTimeout(force);
    }
    // no worker left: the run is over, and its compile caches go with it
    if (await runOver) await removeCompileCaches();
  }

  /**
   * The sandbox ended. Record what the files cost. If it ended before Vitest stopped it (OOM kill,
   * timeout, a crash, or it never started), fail the files it was running with the cause; a request
   * still to come is answered by answerForEnded.
   */
  private ended_(result: JobResult): void {
    this.endResult = result;
    this.trace?.mark('ended');
    this.trace?.emit(this.ranFiles);
    const sharedWith = this.ranFiles.size;
    for (const file of this.ranFiles)
      recordFile(file, { result, stoppedByVitest: this.stopping, sharedWith });
    if (this.stopping) return;
    if (this.startFailure(result))
      announceStartFailure(this.poolOptions, startFailureReason(result, this.spoke));
    if (this.awaitingStarted) {
      // it died before it could say it started: say it for it, and fail the files it is then given
      this.awaitingStarted = false;
      this.respond('started');
    }
    if (this.inFlight) this.failFiles(this.files, result);
  }

  /** Whether the sandbox never became a working Vitest worker. */
  private startFailure(result: JobResult): boolean {
    return result.status === 'error' || !this.spoke;
  }

  /**
   * Fails `files` with the sandbox's end, in Vitest's own terms: a task update that marks each file
   * failed (after collecting it, if the worker died before it could), then the `testfileFinished` the
   * pool waits for — so the run goes on and the files count as failed.
   */
  private failFiles(files: string[], result: JobResult): void {
    this.inFlight = false;
    const project = this.poolOptions.project;
    const root = project.config.root;
    const projectName = project.config.name ?? '';
    for (const filepath of files) {
      recordFile(filepath, { result, stoppedByVitest: false, sharedWith: Math.max(1, this.ranFiles.size) });
      const name = path.relative(root, filepath);
      const id = generateFileHash(name, projectName);
      const channelFailure = this.sandbox?.failure;
      const message = channelFailure
        ? `ringfence: ${name} was killed: ${channelFailure.message}`
        : this.startFailure(result)
          ? `ringfence: could not start ${name}: ${startFailureReason(result, this.spoke)}`
          : killedMessage(name, result);
      const error = { name: 'RingfenceError', message, stack: '' };
      const failed = { state: 'fail', errors: [error], duration: result.wallMs };
      const collected = this.collected.has(id);
      if (!collected) {
        const file: Record<string, unknown> = {
          id,
          name,
          fullName: name,
          type: 'suite',
          mode: 'run',
          filepath,
          tasks: [],
          meta: {},
          projectName,
          pool: this.name,
          result: failed,
        };
        file.file = file;
        this.rpc('onCollected', [[file]]);
      }
      // the module's end event is what reporters print from (Vitest 5 relies on it): a file the worker
      // had collected ends as a suite; one it never reached failed "early", as an import error does
      this.rpc('onTaskUpdate', [
        [[id, failed, {}]],
        [[id, collected ? 'suite-finished' : 'suite-failed-early', undefined]],
      ]);
    }
    this.respond('testfileFinished');
  }

  /** A birpc event as the worker would have sent it. */
  private rpc(method: string, args: unknown[]): void {
    this.events.emit('message', { t: 'q', m: method, a: args });
  }
}

/**
 * Why a file's sandbox never became a worker: the start failure's own message (which names its fix),
 * or, for a worker that ended before its first message, how it ended and the last of what it said.
 */
function startFailureReason(result: JobResult, spoke: boolean): string {
  if (result.status === 'error') return result.reason.replace(/^could not start: /, '');
  // the error line Node printed, when there is one (a stack and its properties follow it), else the tail
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n');
  const errorLine = lines.find((line) => /^(\w*Error|Error)\b.*:/.test(line.trim()));
  const said = errorLine?.trim() ?? lines.slice(-5).join('\n');
  const how = spoke ? result.reason : `the Vitest worker ended before its first message (${result.reason})`;
  return said ? `${how}; its last output:\n${said}` : how;
}

/** Start failures already announced, by reason: the same one for every file is said once. */
const announced = new Set<string>();

/**
 * The first file whose sandbox cannot start says why at the top of the output, before the per-file
 * failures: when every start fails the same way, that one line is the whole story.
 */
function announceStartFailure(poolOptions: PoolOptions, reason: string): void {
  if (announced.has(reason)) return;
  announced.add(reason);
  poolOptions.project.vitest.logger.error(`ringfence: test files cannot start their sandboxes: ${reason}`);
}
