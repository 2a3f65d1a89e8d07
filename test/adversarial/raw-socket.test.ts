// Attack: raw and packet sockets — read every packet on an interface, forge any source address, put
// a NIC into promiscuous mode. They need CAP_NET_RAW (dropped, as Podman does; Docker keeps it) and
// promiscuous mode CAP_NET_ADMIN. Checked in the job's own network namespace and with --network host,
// where the host's interfaces are right there: their flags must be unchanged afterwards.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, outcomes, removeDir, tempDir } from './helpers.js';

const RAW = ['raw-ipv4', 'raw-ipv6', 'raw-tcp', 'packet', 'packet-dgram'];

/** Every host interface → its flags (IFF_PROMISC is 0x100). */
function hostInterfaceFlags(): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const name of fs.readdirSync('/sys/class/net'))
    flags[name] = fs.readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim();
  return flags;
}

describeSandbox('adversarial: raw sockets', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('raw');
    compile(dir, 'raw-socket');
  });
  afterAll(() => removeDir(dir));

  for (const network of ['none', 'host'] as const) {
    it(`raw and packet sockets and promiscuous mode are refused (--network ${network})`, async () => {
      const before = hostInterfaceFlags();
      // with --network host aim at a real host interface; in its own namespace only lo exists
      const iface = network === 'host' ? (Object.keys(before).find((n) => n !== 'lo') ?? 'lo') : 'lo';
      const result = await runJob({
        command: ['./raw-socket', iface],
        workdir: dir,
        network,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const seen = outcomes(result.stdout);
      for (const kind of RAW) expect(seen[kind], kind).toBe('EPERM');
      expect(seen.promisc).toBe('EPERM');
      expect(hostInterfaceFlags()).toEqual(before);
      attack(`raw sockets (--network ${network})`, 'contained');
      await expectNoLeftovers();
    });
  }
});
