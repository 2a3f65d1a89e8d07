// A launcher's PR_SET_PDEATHSIG follows the thread that spawned it, not the process: a Harness worker
// thread that ends between a spare's spawn and its prctl would leave the spare waiting at a gate
// no one will open, for as long as the harness lives. The launcher is told its spawning thread
// (--parent-tid) and leaves at once when that thread is gone. The real binary, a real ended thread.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { installedLauncherPath } from '../harness/launch/binary.js';
import { parseLauncherReports } from '../harness/launch/status.js';

const LAUNCHER = installedLauncherPath();
const runnable = process.platform === 'linux' && fs.existsSync(LAUNCHER);

/** The id of the calling thread, from the kernel's own name for it. */
const ownTid = (): number => Number(fs.readlinkSync('/proc/thread-self').split('/').pop());

/** A thread of this process that has ended: its id. */
async function endedThreadTid(): Promise<number> {
  const worker = new Worker(
    "require('worker_threads').parentPort.postMessage(Number(require('fs').readlinkSync('/proc/thread-self').split('/').pop()))",
    { eval: true },
  );
  const [tid] = (await once(worker, 'message')) as [number];
  await once(worker, 'exit');
  return tid;
}

/** Starts the launcher with its gate left closed, as a spare waits; what it did until it exited. */
function launchSpare(parentTid: number) {
  const child = spawn(
    LAUNCHER,
    [
      '--gate-fd=3',
      '--status-fd=4',
      `--parent-pid=${process.pid}`,
      `--parent-tid=${parentTid}`,
      '--',
      'true',
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] },
  );
  let status = '';
  (child.stdio[4] as Duplex).setEncoding('utf8').on('data', (s: string) => (status += s));
  const gate = child.stdio[3] as Duplex;
  gate.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; status: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, status })),
  );
  return { child, gate, exited };
}

describe.runIf(runnable)('the launcher and the thread that spawned it', () => {
  it('leaves at once when its spawning thread has already ended, and waits at its gate otherwise', async () => {
    const dead = await endedThreadTid();
    const orphan = launchSpare(dead);
    // nothing opens its gate: only its own check can end it
    const ended = await orphan.exited;
    expect(ended.code).not.toBe(0);
    const failure = parseLauncherReports(ended.status).find((r) => r.kind === 'error');
    expect(failure).toMatchObject({ step: expect.stringMatching(/^pdeathsig/), code: 'ESRCH' });

    // the control: tied to a live thread (this one), the spare waits until its gate is closed
    const kept = launchSpare(ownTid());
    let gone = false;
    void kept.exited.then(() => (gone = true));
    // past its tie, blocked in read() of the gate (fd 3): the kernel's own record of the call
    const readNr = process.arch === 'arm64' ? 63 : 0;
    await expect
      .poll(
        () =>
          gone
            ? 'exited'
            : fs.readFileSync(`/proc/${kept.child.pid}/syscall`, 'utf8').split(' ').slice(0, 2).join(' '),
        {
          timeout: 10_000,
        },
      )
      .toBe(`${readNr} 0x3`);
    kept.gate.end();
    await kept.exited;
  });
});
