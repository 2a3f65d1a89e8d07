// The network report of a job under `--network allow:…`, in the forms each reader wants: the hosts it
// reached and was refused (run's stderr line, compare), its JUnit figures and its system-out section.
// Pure functions of the result's `network` (harness/net/proxy.ts recorded it), so each is
// unit-tested alone.
import type { JobNetwork, NetConnection } from '../harness/job/result.js';

function target(c: NetConnection): string {
  return `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
}

/** Distinct `host:port`s the job reached (allowed, connected) and was refused, each in first-seen order. */
export function netTargets(network: JobNetwork): { reached: string[]; refused: string[]; failed: string[] } {
  const reached = new Set<string>();
  const refused = new Set<string>();
  const failed = new Set<string>();
  for (const c of network.connections) {
    if (!c.allowed) refused.add(target(c));
    else if (c.error !== undefined) failed.add(target(c));
    else reached.add(target(c));
  }
  return { reached: [...reached], refused: [...refused], failed: [...failed] };
}

/** Every distinct `host:port` it tried, reached or not (what `compare` holds against a base run). */
export function contacted(network: JobNetwork): string[] {
  const { reached, failed, refused } = netTargets(network);
  return [...new Set([...reached, ...failed, ...refused])];
}

/**
 * What was refused, as run's line says it: a tunnel refused for the TLS name it asked for names that
 * name (the authority it went through was allowed), any other refusal its `host:port`.
 */
function refusedAs(c: NetConnection): string {
  if (c.tlsName !== undefined) return `${c.tlsName} (TLS name) via ${target(c)}`;
  return c.httpHost !== undefined && c.reason !== undefined
    ? `${c.httpHost} (HTTP Host) via ${target(c)}`
    : target(c);
}

function hosts(n: number): string {
  return `${n} host${n === 1 ? '' : 's'}`;
}

/** What the proxy closed unread, the job having the most connections open it may; null: none. */
function overLimitText(network: JobNetwork): string | null {
  const n = network.overLimit ?? 0;
  return n > 0 ? `closed ${n} connection${n === 1 ? '' : 's'} unread: too many open at once` : null;
}

/** `reached 2 hosts, refused 1: evil.example:443` — or null when the job tried nothing. */
export function netLine(network: JobNetwork): string | null {
  const over = overLimitText(network);
  if (network.connections.length === 0 && network.truncated === 0 && over === null) return null;
  const { reached, failed } = netTargets(network);
  const refused = [...new Set(network.connections.filter((c) => !c.allowed).map(refusedAs))];
  let line = `reached ${hosts(reached.length)}`;
  if (failed.length > 0) line += `, could not reach ${failed.length}: ${failed.join(' ')}`;
  if (refused.length > 0) line += `, refused ${refused.length}: ${refused.join(' ')}`;
  if (over !== null) line += `, ${over}`;
  return network.truncated > 0 ? `${line} (${network.truncated} more connections not listed)` : line;
}

/** The JUnit figures under `ringfence.<job>.net.*`. */
export function netFigures(network: JobNetwork): [string, string | number][] {
  const { reached, refused } = netTargets(network);
  const sum = (key: 'bytesOut' | 'bytesIn'): number => network.connections.reduce((n, c) => n + c[key], 0);
  const out: [string, string | number][] = [
    ['net.mode', network.mode],
    ['net.connections', network.connections.length + network.truncated],
    ['net.reached', reached.length],
    ['net.refused', refused.length],
    ['net.bytes_out', sum('bytesOut')],
    ['net.bytes_in', sum('bytesIn')],
  ];
  if (network.overLimit) out.push(['net.over_limit', network.overLimit]);
  if (reached.length > 0) out.push(['net.reached_hosts', reached.join(' ')]);
  if (refused.length > 0) out.push(['net.refused_hosts', refused.join(' ')]);
  return out;
}

/** system-out's section: one connection a line; null when there were none. */
export function netText(network: JobNetwork): string | null {
  const total = network.connections.length + network.truncated;
  const over = overLimitText(network);
  if (total === 0) return over === null ? null : `--- ringfence: ${over} ---`;
  const lines = [`--- ringfence: ${total} connection${total === 1 ? '' : 's'} through the allow-list ---`];
  for (const c of network.connections) {
    const verdict = !c.allowed ? 'refused' : c.error !== undefined ? `failed (${c.error})` : 'allowed';
    const why = c.reason === undefined ? '' : ` (${c.reason})`;
    lines.push(
      `${verdict.padEnd(8)} ${c.via.padEnd(7)} ${target(c)} out ${c.bytesOut} B, in ${c.bytesIn} B${why}`,
    );
  }
  if (network.truncated > 0) lines.push(`… and ${network.truncated} more`);
  if (over !== null) lines.push(`and ${over}`);
  return lines.join('\n');
}
