// Every namespace isolates: checked from inside with fixtures/probe.js and from outside on the host.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { FIXTURES, NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';

interface Probe {
  hostname: string;
  pid: number;
  visiblePids: number[];
  interfaces: string[];
  uid: number;
  gid: number;
  capEff: string;
  noNewPrivs: boolean;
  cgroup: string[];
  hostPortReachable: boolean | null;
}

async function probe(extra: Partial<JobSpecInput> = {}, port?: number): Promise<Probe> {
  const args = ['node', path.join(FIXTURES, 'probe.js'), ...(port === undefined ? [] : [String(port)])];
  const result = await runJob({ command: args, ...extra });
  expect(result.status, result.stderr + result.reason).toBe('passed');
  return JSON.parse(result.stdout) as Probe;
}

const CAP_SYS_ADMIN = 21n;
const CAP_NET_ADMIN = 12n;
const CAP_SYS_PTRACE = 19n;
const CAP_SYS_MODULE = 16n;
const CAP_NET_RAW = 13n;

describeSandbox('namespaces', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('UTS: the job gets its own hostname and the host keeps its own', async () => {
    const before = os.hostname();
    const inside = await probe({ hostname: 'job-under-test' });
    expect(inside.hostname).toBe('job-under-test');
    expect(os.hostname()).toBe(before);
    expect((await probe()).hostname).toBe('ringfence');
  });

  it('PID: the job sees only its own processes, as pid 2 under our init', async () => {
    const inside = await probe();
    expect(inside.pid).toBe(2);
    expect(inside.visiblePids).toEqual([1, 2]);
  });

  it('NET: only lo, and a listener on the host loopback is unreachable (reachable with --network host)', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const isolated = await probe({}, port);
      expect(isolated.interfaces).toEqual(['lo']);
      expect(isolated.hostPortReachable).toBe(false);
      const shared = await probe({ network: 'host' }, port);
      expect(shared.hostPortReachable).toBe(true);
      expect(shared.interfaces.length).toBeGreaterThan(1);
    } finally {
      server.close();
    }
  });

  it('MNT: the mounts made for the job never appear on the host', async () => {
    const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const result = await runJob({
      command: ['sh', '-c', 'cat /proc/self/mountinfo; touch /tmp/inside-only'],
      tmpSize: '8m',
      workdir: '/',
    });
    expect(result.status).toBe('passed');
    const inside = result.stdout;
    expect(inside).toMatch(/ \/tmp .* - tmpfs /);
    expect(inside).toMatch(/ \/proc .* - proc /);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
  });

  it('IPC: System V objects made inside are not on the host', async () => {
    const hostSegments = (): number =>
      fs.readFileSync('/proc/sysvipc/shm', 'utf8').trim().split('\n').length - 1;
    const before = hostSegments();
    const running = runJob({
      command: ['sh', '-c', 'ipcmk -M 4096 >/dev/null && ipcs -m | grep -c 0x && sleep 1'],
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(hostSegments()).toBe(before); // the job's segment exists now, but not in the host's namespace
    const result = await running;
    expect(result.stdout.trim()).toBe('1');
  });

  it("privileges: Docker's capability set without SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, NET_RAW; no_new_privs", async () => {
    const inside = await probe();
    const caps = BigInt(`0x${inside.capEff}`);
    for (const cap of [CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_NET_RAW]) {
      expect((caps >> cap) & 1n, `capability ${cap}`).toBe(0n);
    }
    expect(caps).not.toBe(0n); // root keeps chown, kill, setuid …
    expect(inside.noNewPrivs).toBe(true);
  });

  it('--user switches uid/gid and leaves no capability', async () => {
    const inside = await probe({ user: '65534:65534' });
    expect(inside.uid).toBe(65534);
    expect(inside.gid).toBe(65534);
    expect(BigInt(`0x${inside.capEff}`)).toBe(0n);
  });

  it('--userns: root inside is an unprivileged uid outside', async () => {
    const result = await runJob({ command: ['sh', '-c', 'id -u; cat /proc/self/uid_map'], userns: true });
    expect(result.status, result.reason).toBe('passed');
    const [uid, map] = result.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map?.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
  });

  it('/sys and /proc/sys are read-only, the cgroup filesystem is not writable, /dev is minimal', async () => {
    const script = [
      'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo proc-sys-writable',
      'echo x > /sys/kernel/uevent_helper 2>/dev/null && echo sys-writable',
      'mkdir /sys/fs/cgroup/escape 2>/dev/null && echo cgroup-writable',
      'mount -t tmpfs none /mnt 2>/dev/null && echo mount-allowed',
      'ls /dev | tr "\\n" " "',
    ].join('; ');
    const result = await runJob({ command: ['sh', '-c', script] });
    expect(result.stdout).not.toMatch(/writable|allowed/);
    const dev = result.stdout.trim().split(' ').sort();
    expect(dev).toEqual([
      'fd',
      'full',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
  });
});
