// A reporter for `npm run bench:vitest -- --trace`, in Vitest's main process under either pool: when
// each test file was queued for a worker and when its end was reported, as `RFTRACE` lines on stderr
// (epoch ms) for the bench.
import type { Reporter, TestModule } from 'vitest/node';

const now = (): number => performance.timeOrigin + performance.now();

function line(kind: string, module: TestModule): void {
  process.stderr.write(
    `RFTRACE ${JSON.stringify({ side: 'main', kind, file: module.moduleId, at: now() })}\n`,
  );
}

export default class TraceReporter implements Reporter {
  onTestModuleQueued(module: TestModule): void {
    line('queued', module);
  }

  onTestModuleEnd(module: TestModule): void {
    line('end', module);
  }
}
