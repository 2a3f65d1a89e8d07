// Parsers for the text of cgroup interface files and /proc, pure so tests run them on captured
// contents. Formats per Documentation/admin-guide/cgroup-v2.rst ("Interface Files" conventions) and
// cgroup-v1/*.rst.

/** Flat keyed files: "key value" per line (cpu.stat, memory.events, memory.oom_control, pids.events). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key === undefined || key === '' || value === undefined || extra !== undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/**
 * pids.events (v1 and v2: `max N`, and on newer v2 kernels `max.imposed N`): how many forks the
 * cap refused; null when there is no such file (no pids controller, an old kernel).
 */
export function refusedForks(text: string | null): number | null {
  if (text === null) return null;
  return parseFlatKeyed(text).get('max') ?? 0;
}

/** Nested keyed files: "<key> sub=value sub=value" per line (io.stat: "8:0 rbytes=… wbytes=…"). */
export function parseNestedKeyed(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (key === undefined || key === '') continue;
    const fields = new Map<string, number>();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const n = Number(pair.slice(eq + 1));
      if (Number.isFinite(n)) fields.set(pair.slice(0, eq), n);
    }
    out.set(key, fields);
  }
  return out;
}

export interface IoBytes {
  readBytes: number;
  writeBytes: number;
}

/** v2 io.stat: rbytes and wbytes summed over every device. */
export function sumIoStat(text: string): IoBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const fields of parseNestedKeyed(text).values()) {
    readBytes += fields.get('rbytes') ?? 0;
    writeBytes += fields.get('wbytes') ?? 0;
  }
  return { readBytes, writeBytes };
}

/**
 * v1 blkio.throttle.io_service_bytes(_recursive): "MAJ:MIN Read|Write|Sync|Async|Discard|Total N"
 * per device, then a bare "Total N". Read and Write summed over devices (Sync/Async overlap them).
 */
export function sumBlkioServiceBytes(text: string): IoBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const [, op, value, extra] = line.trim().split(/\s+/);
    if (value === undefined || extra !== undefined) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) continue;
    if (op === 'Read') readBytes += n;
    else if (op === 'Write') writeBytes += n;
  }
  return { readBytes, writeBytes };
}

/** Whitespace-separated names (cgroup.controllers, cgroup.subtree_control). */
export function parseNameList(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map((s) => s.replace(/^[+-]/, ''));
}

/** cgroup.procs / tasks: one pid per line. */
export function parsePids(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const n = Number(t);
    if (Number.isSafeInteger(n) && n > 0) out.push(n);
  }
  return out;
}

// v1 reports "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 with 4 KiB pages), a
// value that differs with the page size; anything this large is no cap.
const V1_UNLIMITED = 2 ** 62;

/** A single number; "max" (v2) or v1's near-2^63 "unlimited" read as null. */
export function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || t === '-1') return null;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(t)}`);
  return n >= V1_UNLIMITED ? null : n;
}

export function parseNumber(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (t === '' || !Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(t)}`);
  return n;
}

/**
 * Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat. The comm field (2) may hold
 * spaces and parentheses, so the count starts after the last ')'. Kept as a string: it is compared,
 * never computed with.
 */
export function parseProcStatStartTime(text: string): string {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc/<pid>/stat: no comm field');
  // after ") " comes field 3 (state); field 22 is the 20th from there
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const start = fields[19];
  if (start === undefined || !/^\d+$/.test(start))
    throw new Error('malformed /proc/<pid>/stat: no starttime');
  return start;
}

/** State letter (field 3) of /proc/<pid>/stat: R, S, D, Z, T … */
export function parseProcStatState(text: string): string {
  const close = text.lastIndexOf(')');
  return (
    text
      .slice(close + 1)
      .trim()
      .split(/\s+/)[0] ?? ''
  );
}

/** runc's conversion of Docker cpu-shares (2..262144) to cgroup v2 cpu.weight (1..10000). */
export function cpuWeightFromShares(shares: number): number {
  if (shares <= 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's conversion of a v1 blkio weight (10..1000) to v2 io.weight (1..10000). */
export function ioWeightFromBlkioWeight(weight: number): number {
  if (weight <= 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** The `frozen` field of v2 cgroup.events. */
export function isFrozenEvents(text: string): boolean {
  return parseFlatKeyed(text).get('frozen') === 1;
}

/**
 * A PSI file (cpu.pressure, memory.pressure, io.pressure): "some avg10=… total=N" and "full … total=N"
 * lines; the totals are microseconds stalled since the cgroup was made. null for an empty text.
 */
export function parsePressure(text: string): { someUs: number; fullUs: number | null } | null {
  let some: number | null = null;
  let full: number | null = null;
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    const total = pairs.find((p) => p.startsWith('total='));
    if (total === undefined) continue;
    const value = Number(total.slice('total='.length));
    if (!Number.isFinite(value)) continue;
    if (kind === 'some') some = value;
    else if (kind === 'full') full = value;
  }
  return some === null ? null : { someUs: some, fullUs: full };
}
