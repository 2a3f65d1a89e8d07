// For bench/vitest-pool.ts, in Vitest's main process under either pool (imported by both configs):
// the CPU this process spent, all its threads, as one `RFCPU user system` line (ms) on stderr as it
// exits. The bench takes it from the whole run's, which counts the workers and sandboxes it reaped.
if (process.env.RINGFENCE_BENCH_CPU === '1') {
  process.once('exit', () => {
    const { user, system } = process.cpuUsage();
    process.stderr.write(`RFCPU ${user / 1000} ${system / 1000}\n`);
  });
}
