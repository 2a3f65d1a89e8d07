// The v2 set's pause check, in a process of its own (scenarios.guest.ts runs it): the library's
// pause()/resume() on a spinner while another spinner runs. Its own process because the library
// places the process it runs in (a systemd scope, a leaf), and that must end with it. Prints one
// line of JSON: how far each spinner's CPU moved while the first was paused, and its pause windows.
import { runJob } from '../../dist/harness/run-job.js';

const until = async (what, condition) => {
  const deadline = performance.now() + 120_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const spin = ['sh', '-c', 'while :; do :; done'];
let paused;
let control;
const pausedDone = runJob({ command: spin, timeout: '300s' }, { onStart: (job) => (paused = job) });
const controlDone = runJob({ command: spin, timeout: '300s' }, { onStart: (job) => (control = job) });
await until('both to start', () => paused !== undefined && control !== undefined);
await until('the spinner to use CPU', () => paused.cpuMs() > 100);
const ok = await paused.pause();
const frozenAt = paused.cpuMs();
const controlAt = control.cpuMs();
// the window ends once the other spinner has had 300 ms of CPU, not after a fixed time
await until('the other spinner to use 300 ms of CPU', () => control.cpuMs() > controlAt + 300);
const moved = paused.cpuMs() - frozenAt;
const other = control.cpuMs() - controlAt;
paused.resume();
await until('the spinner to run again', () => paused.cpuMs() > frozenAt + 100);
paused.abort();
control.abort();
const result = await pausedDone;
await controlDone;
console.log(JSON.stringify({ ok, moved, other, pauses: result.pauses ?? [] }));
