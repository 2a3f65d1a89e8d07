// ringfence as a Vitest 4 pool: every test file runs in a worker that Vitest's own forks entry
// provides, started through the one job lifecycle (runJob) — its own namespaces, a cgroup with
// caps, a wall-clock limit — and talking to Vitest over a Node IPC channel the sandbox keeps open.
//
//   // vitest.config.ts
//   import { ringfence } from 'ringfence/vitest';
//   export default defineConfig({ test: { pool: ringfence({ memory: '512m' }), isolate: true } });
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { generateFileHash, type PoolOptions, type PoolRunnerInitializer, type PoolWorker } from 'vitest/node';
import { hiddenByPrivateTmp } from '../launcher.js';
import { protectPackage } from '../protect.js';
import type { JobResult } from '../result.js';
import { runJob, type RunningJob } from '../sandbox.js';
import type { JobSpecInput } from '../spec.js';
import { parseSize } from '../units.js';
import { killedMessage, recordFile, trackRun } from './results.js';

export interface RingfenceVitestOptions {
  /** Memory cap per test file (default 1g). V8's heap is capped at 75% of it. */
  memory?: string;
  cpus?: string | number;
  /** Tasks per file: a Node worker already has about 11 threads (default 256). */
  pidsLimit?: number;
  /** Wall-clock limit per test file (default 5m). */
  timeout?: string;
  network?: 'none' | 'host';
  hostname?: string;
}

const DEFAULTS = { memory: '1g', pidsLimit: 256, timeout: '5m' } as const;
/** As Vitest's forks pool: a worker that ignores SIGTERM is killed after this long. */
const STOP_GRACE_MS = 500;

export function ringfence(options: RingfenceVitestOptions = {}): PoolRunnerInitializer {
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
  private ended = false;
  private files: string[] = [];
  /** File task ids the worker reported as collected before it could have died. */
  private readonly collected = new Set<string>();

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
    const files = filesOf(message);
    if (files.length) this.files = files;
    if (this.ended && (message as { type?: string } | null)?.type === 'stop') {
      // the sandbox is gone: answer Vitest's stop for it, or it waits out its stop timeout
      setImmediate(() => this.events.emit('message', { __vitest_worker_response__: true, type: 'stopped' }));
      return;
    }
    this.job?.ipc?.send(message as object);
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  async start(): Promise<void> {
    if (this.run) return;
    const memory = this.options.memory ?? DEFAULTS.memory;
    // V8 sizes its heap from the machine, not the cgroup: cap it below the memory cap so a JS leak
    // fails with V8's own message rather than an OOM kill
    const heapMb = Math.max(64, Math.floor((parseSize('memory', memory) / 1024 / 1024) * 0.75));
    const entry = path.join(this.poolOptions.distPath, 'workers', 'forks.js');
    // Vitest's own process is the harness here: what it loads (vitest and its dependencies) is made
    // read-only to every test file, as ringfence's own files are
    protectPackage(path.dirname(this.poolOptions.distPath));
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.poolOptions.env))
      if (value !== undefined) env[key] = value;
    const spec: JobSpecInput = {
      name: 'vitest worker',
      command: [process.execPath, ...this.poolOptions.execArgv, `--max-old-space-size=${heapMb}`, entry],
      env,
      memory,
      pidsLimit: this.options.pidsLimit ?? DEFAULTS.pidsLimit,
      timeout: this.options.timeout ?? DEFAULTS.timeout,
      ...(this.options.cpus === undefined ? {} : { cpus: this.options.cpus }),
      network: this.options.network ?? 'none',
      hostname: this.options.hostname ?? 'ringfence',
      workdir: process.cwd(),
      volumes: hiddenVitestPaths(this.poolOptions.distPath, this.poolOptions.project.config.root),
    };
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    this.run = runJob(spec, {
      ipc: 'advanced',
      // the next file's launcher (with its channel) is started and joined to a cgroup while this
      // file runs: a worker then starts without waiting for the cgroup write's RCU grace period
      stdout: this.poolOptions.project.vitest.logger.outputStream,
      stderr: this.poolOptions.project.vitest.logger.errorStream,
      onStart: (job) => {
        this.job = job;
        job.ipc?.on('message', (message: unknown) => {
          const rpc = message as { t?: string; m?: string; a?: unknown[] } | null;
          if (rpc?.t === 'q' && rpc.m === 'onCollected') {
            for (const file of (rpc.a?.[0] ?? []) as { id: string }[]) this.collected.add(file.id);
          }
          this.events.emit('message', message);
        });
        started();
      },
    });
    trackRun(this.run);
    void this.run.then((result) => this.ended_(result));
    // a sandbox that could not start resolves the run without ever calling onStart
    await Promise.race([running, this.run.then(() => undefined)]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const job = this.job;
    if (!job || !this.run) return;
    job.signal('SIGTERM');
    const force = setTimeout(() => job.abort(), STOP_GRACE_MS);
    await this.run;
    clearTimeout(force);
  }

  /**
   * The sandbox ended. Record what the files cost. If it ended before Vitest stopped it (OOM kill,
   * timeout, a crash), fail its test files with the cause — in Vitest's own terms: a task update that
   * marks each file failed (after collecting it, if the worker died before it could), then the
   * `testfileFinished` the pool waits for — so the run goes on and the files count as failed.
   */
  private ended_(result: JobResult): void {
    this.ended = true;
    for (const file of this.files) recordFile(file, { result, stoppedByVitest: this.stopping });
    if (this.stopping) return;
    const project = this.poolOptions.project;
    const root = project.config.root;
    const projectName = project.config.name ?? '';
    for (const filepath of this.files) {
      const name = path.relative(root, filepath);
      const id = generateFileHash(name, projectName);
      const error = { name: 'RingfenceError', message: killedMessage(name, result), stack: '' };
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
    this.events.emit('message', { __vitest_worker_response__: true, type: 'testfileFinished' });
  }

  /** A birpc event as the worker would have sent it. */
  private rpc(method: string, args: unknown[]): void {
    this.events.emit('message', { t: 'q', m: method, a: args });
  }
}

/**
 * What the worker needs that the sandbox's private /tmp would hide when it lives under the host's
 * /tmp (a project or its dependencies checked out there, outside the cwd that is bound back in
 * anyway): the node_modules that Vitest's worker entry and its dependencies load from, read-only, and
 * the project root, whose files tests may read and write.
 */
function hiddenVitestPaths(distPath: string, root: string): string[] {
  const cwd = process.cwd();
  const hidden = (dir: string): boolean =>
    hiddenByPrivateTmp(dir) &&
    (path.relative(cwd, dir) === '..' || path.relative(cwd, dir).startsWith('../'));
  const volumes: string[] = [];
  const real = fs.realpathSync(distPath);
  const at = real.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  const modules = at < 0 ? null : real.slice(0, at + `${path.sep}node_modules`.length);
  // the root first: a later bind of it would cover the read-only node_modules inside it
  if (hidden(root)) volumes.push(`${root}:${root}`);
  if (modules && hidden(modules)) volumes.push(`${modules}:${modules}:ro`);
  return volumes;
}
