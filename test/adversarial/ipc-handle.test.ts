// Attacks through a job's Node IPC channel, the one thing a Vitest test file shares with Vitest's
// own process. A handle: a Node worker in the sandbox sends a listening socket it made, to plant a
// file descriptor of its own in the host process, outside every sandbox. Node's own channel
// (child_process) accepts handles and installs the socket in the parent, as the control below
// shows; the harness's end (harness/launch/node-channel.ts) never reads ancillary data, so the
// kernel drops it. A flood: a test file claims a 4 GiB message, which Node's channel would buffer
// in Vitest's process; the pool refuses the length, ends the file and goes on.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { DEMO, vitestRun } from '../support/vitest.js';

// says which socket it is, then sends it as a handle, and exits once that is written (3: it was not)
const SEND_HANDLE = `
const server = require('net').createServer().listen(0, '127.0.0.1', () => {
  const inode = require('fs').readlinkSync('/proc/self/fd/' + server._handle.fd);
  process.send({ inode }, () => process.send({ planted: true }, server, (error) => process.exit(error ? 3 : 0)));
});
`;

/** Whether any fd of this process is the socket `inode` ('socket:[N]'). */
function holds(inode: string): boolean {
  return fs.readdirSync('/proc/self/fd').some((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === inode;
    } catch {
      return false; // the directory's own fd, closed by now
    }
  });
}

describeSandbox("adversarial: a job's Node IPC channel", () => {
  it("control: over Node's own channel the handle lands in the parent, and the check sees it", async () => {
    const child = spawn(process.execPath, ['-e', SEND_HANDLE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let inode = '';
    const handle = await new Promise<net.Server>((resolve) =>
      child.on('message', (message: { inode?: string }, sent?: net.Server) => {
        if (message.inode) inode = message.inode;
        if (sent) resolve(sent);
      }),
    );
    expect(inode).toMatch(/^socket:\[\d+\]$/);
    const planted = holds(inode);
    handle.close();
    await new Promise((resolve) => child.once('exit', resolve));
    expect(planted).toBe(true);
  });

  it('a job that sends a handle over its channel plants nothing in the harness', async () => {
    const messages: { inode?: string }[] = [];
    const result = await runJob(
      { command: ['node', '-e', SEND_HANDLE], timeout: '20s' },
      {
        ipc: 'advanced',
        onStart: (job) => job.ipc?.on('message', (m: { inode?: string }) => messages.push(m)),
      },
    );
    expect(result.status, `${result.reason}\n${result.stderr}`).toBe('passed');
    // only the plain message came through; the handle's (Node's NODE_HANDLE) did not, nor its fd
    expect(messages).toHaveLength(1);
    const inode = messages[0]?.inode ?? '';
    expect(inode).toMatch(/^socket:\[\d+\]$/);
    expect(holds(inode)).toBe(false);
    attack('a Node worker passes the harness a socket over its IPC channel', 'contained');
    await expectNoLeftovers();
  });

  it('a test file that claims a 4 GiB message on its channel is ended with the cause; the run goes on', async () => {
    const run = vitestRun([], {}, path.join(DEMO, 'channel-flood'));
    expect(run.status, run.output).toBe(1);
    expect(run.output).toMatch(/Test Files\s+1 failed \| 1 passed \(2\)/);
    expect(run.output).toMatch(
      /ringfence: flood\.test\.ts was killed: the job sent what is not a Node IPC message: a message of 4294967280 bytes/,
    );
    attack('a Vitest file floods Vitest through its IPC channel', 'contained');
    await expectNoLeftovers();
  });
});
