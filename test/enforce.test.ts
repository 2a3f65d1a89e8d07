// The degrade-loudly policy (harness/job/enforce.ts) as a pure function of what the host offers: which
// caps a job keeps, which are named as not enforced (with the reason and the fix), and when a job
// gets a user namespace or none at all. What a real host offers is checked in the v2 guests
// (test/v2/scenarios.guest.ts) and here by the sandbox suites.
import { describe, expect, it } from 'vitest';
import type { Placement } from '../harness/cgroup/placement.js';
import { planJob, strictRefusal, warningLine, type HostSupport } from '../harness/job/enforce.js';
import { resolveJobSpec } from '../harness/job/spec.js';

const placement = (kind: Placement['kind'], version: Placement['version']): Placement => ({
  kind,
  version,
  basePath: version === null ? null : '/x',
  explicitParent: false,
  unit: kind === 'systemd-scope' ? 'ringfence-1-2.scope' : null,
  description: `placed (${kind})`,
  reason: kind === 'none' ? '/sys/fs/cgroup is read-only' : null,
  fix: kind === 'none' ? 'run the container privileged' : null,
});

const host = (
  p: Placement,
  controllers: string[],
  namespaces: HostSupport['namespaces'] = 'all',
): HostSupport => ({
  placement: p,
  controllers: new Set(controllers),
  namespaces,
  namespacesReason: namespaces === 'all' ? null : 'clone: EPERM',
});

const spec = resolveJobSpec({
  command: ['true'],
  memory: '64m',
  memorySwap: '128m',
  pidsLimit: 32,
  cpusetCpus: '0',
  readOnly: true,
});

describe('planJob', () => {
  it('keeps every cap whose controller the placement has', () => {
    const plan = planJob(spec, host(placement('systemd-scope', 'v2'), ['memory', 'pids', 'cpuset', 'cpu']));
    expect(plan.limits).toEqual(spec.limits);
    expect(plan.notEnforced).toEqual([]);
    expect(plan.noNamespaces).toBe(false);
  });

  it('drops a cap whose controller is missing, names it with the reason and a fix, keeps the rest', () => {
    const plan = planJob(spec, host(placement('leaf', 'v2'), ['memory', 'pids']));
    expect(plan.limits.cpusetCpus).toBeUndefined();
    expect(plan.limits.memoryBytes).toBe(64 * 1024 * 1024);
    expect(plan.notEnforced.map((i) => i.what)).toEqual(['--cpuset-cpus']);
    expect(plan.notEnforced[0]?.reason).toMatch(/cpuset controller is not available/);
    expect(plan.notEnforced[0]?.fix).toMatch(/delegate the cpuset controller/);
  });

  it('without a cgroup, drops every cap (memory-swap with memory) and names them all', () => {
    const plan = planJob(spec, host(placement('none', null), []));
    expect(plan.limits).toEqual({});
    expect(plan.notEnforced.map((i) => i.what)).toEqual([
      '--memory',
      '--memory-swap',
      '--cpuset-cpus',
      '--pids-limit',
    ]);
    expect(plan.notEnforced[0]?.reason).toMatch(/no cgroup \(\/sys\/fs\/cgroup is read-only\)/);
    expect(plan.notEnforced[0]?.fix).toBe('run the container privileged');
  });

  it('where only a user namespace can be had, the job gets one; where none, it runs without and says what is lost', () => {
    expect(planJob(spec, host(placement('none', null), [], 'userns')).userns).toBe(true);
    const none = planJob(spec, host(placement('none', null), [], 'none'));
    expect(none.noNamespaces).toBe(true);
    expect(none.userns).toBe(false);
    const ns = none.notEnforced.find((i) => i.what === 'namespaces');
    expect(ns?.reason).toMatch(/clone: EPERM.*not applied: --network none, --read-only, private \/tmp/);
  });

  it('one warning line names each item once; strict mode refuses with the same reasons', () => {
    const items = planJob(spec, host(placement('none', null), [], 'none')).notEnforced;
    const line = warningLine([...items, ...items]);
    expect(line?.split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^ringfence: warning: not enforced on this host \(--memory, --memory-swap, --cpuset-cpus, --pids-limit, namespaces\)/,
    );
    expect(line?.match(/--memory: /g)).toHaveLength(1);
    expect(warningLine([])).toBeNull();
    expect(strictRefusal(items)).toMatch(/^strict mode: --memory cannot be enforced here/);
  });
});
