// The pool's own marks for a test file's worker, for `npm run bench:vitest -- --trace`: when Vitest
// asked for the worker, when its sandbox let the worker run, when the worker said it had started,
// when Vitest stopped it and when the sandbox was gone. Off unless RINGFENCE_VITEST_TRACE=1; then
// one `RFTRACE` line (epoch ms) on Vitest's stderr per worker, beside the bench's own marks.

export type PoolPhase = 'start' | 'spare' | 'released' | 'started' | 'stop' | 'ended';

export class PoolTrace {
  private readonly marks: Partial<Record<PoolPhase, number>> = {};

  static create(): PoolTrace | null {
    return process.env.RINGFENCE_VITEST_TRACE === '1' ? new PoolTrace() : null;
  }

  mark(phase: PoolPhase): void {
    this.marks[phase] ??= performance.timeOrigin + performance.now();
  }

  emit(files: Iterable<string>): void {
    const line = JSON.stringify({ side: 'pool', files: [...files], ...this.marks });
    process.stderr.write(`RFTRACE ${line}\n`);
  }
}
