// `--network allow:HOST[:PORT],…`: the allow-list's entries, parsed once (resolveJobSpec refuses a bad
// one naming it) and matched by the proxy (proxy.ts) against each CONNECT's or request's target.
// Data and pure functions only: unit-tested on their own.

/** One entry: a host name (`*.` wildcard: any name below it) or an address, and the ports it opens. */
export interface AllowRule {
  /** Lowercase, without a trailing dot; an IPv6 address without its brackets; `*.example.com`. */
  readonly host: string;
  /** The one port it opens; `any` (`HOST:*`); `web` (no port written): 80 and 443. */
  readonly port: number | 'any' | 'web';
}

/** The ports an entry without one opens: plain HTTP and HTTPS, not a host's every service. */
export const WEB_PORTS: readonly number[] = [80, 443];

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A host as the proxy compares it: lowercase, no trailing dot, IPv6 without brackets. */
export function normalHost(host: string): string {
  const lower = host.trim().toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

function validHost(host: string): boolean {
  if (host.includes(':')) return /^[0-9a-f:.]+$/.test(host) && host.split(':').length <= 8;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** Parses one entry, or says why it is none (the caller names the option). */
export function parseAllowRule(entry: string): AllowRule | string {
  const text = entry.trim();
  let host = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host = '', port] = text.split(':');
  }
  host = normalHost(host);
  if (!validHost(host))
    return `invalid host ${JSON.stringify(entry)} (a name, *.name, an address or [IPv6], then :PORT or :*)`;
  if (port === undefined) return { host, port: 'web' };
  if (port === '*') return { host, port: 'any' };
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535)
    return `invalid port in ${JSON.stringify(entry)} (1-65535 or *)`;
  return { host, port: n };
}

/** An entry as written back (results, docs): `host:port`, `host:*`, `host`, IPv6 bracketed. */
export function formatAllowRule(rule: AllowRule): string {
  const host = rule.host.includes(':') ? `[${rule.host}]` : rule.host;
  return rule.port === 'web' ? host : `${host}:${rule.port === 'any' ? '*' : rule.port}`;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** Whether the list admits `host:port` (host as normalHost gives it). */
export function allowed(rules: readonly AllowRule[], host: string, port: number): boolean {
  return rules.some(
    (rule) =>
      hostMatches(rule.host, host) &&
      (rule.port === 'any' || (rule.port === 'web' ? WEB_PORTS.includes(port) : rule.port === port)),
  );
}
