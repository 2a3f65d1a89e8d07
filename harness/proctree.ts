// Reads what every task of a job was doing, from /proc, while the job's cgroup is frozen: after a
// timeout this is the only evidence of what hung, so it goes into the result's diagnostics.
import fs from 'node:fs';
import type { ProcessInfo } from './result.js';

const PAGE_SIZE = 4096;

export function snapshotProcesses(pids: readonly number[]): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of pids) {
    const info = readProcess(pid);
    if (info) out.push(info);
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export function readProcess(pid: number): ProcessInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return parseProcess(pid, stat, status, cmdline);
  } catch {
    return null; // gone between listing and reading
  }
}

/** Pure parser over the three files, so it can be tested on captured text. */
export function parseProcess(pid: number, stat: string, status: string, cmdline: string): ProcessInfo {
  // comm may hold spaces and parentheses: the fields after it start at the last ')'
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  const state = fields[0] ?? '?';
  const ppid = Number(fields[1] ?? 0);
  const rssPages = Number(fields[21] ?? 0);
  const nsLine = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  const nsPid = nsLine && nsLine.length > 1 ? Number(nsLine[nsLine.length - 1]) : null;
  const args = cmdline.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
  return {
    pid,
    ppid,
    nsPid,
    state,
    rssBytes: rssPages * PAGE_SIZE,
    cmdline: args.length ? args.join(' ') : `[${comm}]`,
  };
}
