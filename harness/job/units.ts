// Parsers for the human units the CLI and manifests take. Each returns a number in kernel units or
// throws InputError naming the field, so every entry point refuses bad input the same way.

export class InputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'InputError';
  }
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Docker's size syntax: a number with an optional unit b, k, m, g, t (binary multiples, case-insensitive,
 * `kb`/`kib` accepted too). `512m`, `1.5g`, `4096`. Numbers are accepted as bytes.
 */
export function parseSize(field: string, value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw new InputError(field, `expected a positive whole number of bytes, got ${value}`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match?.[2]?.toLowerCase();
  const factor = unit === undefined ? undefined : SIZE_UNITS[unit];
  if (!match || factor === undefined) {
    throw new InputError(
      field,
      `invalid size ${JSON.stringify(value)} (expected e.g. 512m, 1.5g, 65536; units b, k, m, g, t)`,
    );
  }
  const bytes = Math.floor(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new InputError(field, `size ${JSON.stringify(value)} is out of range`);
  }
  return bytes;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  '': 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/**
 * The longest duration taken: Node's timers hold at most 2^31-1 ms (about 24.8 days) and fire at
 * once (after 1 ms) for anything longer, so `--timeout 1000h` would end a job straight away.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Durations: `500ms`, `30s`, `1.5s`, `2m`, `1h`; a bare number is seconds (as GNU timeout). Returns ms. */
export function parseDuration(field: string, value: string | number): number {
  const text = typeof value === 'number' ? String(value) : value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|)\s*$/i.exec(text);
  const factor = match ? DURATION_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new InputError(
      field,
      `invalid duration ${JSON.stringify(text)} (expected e.g. 500ms, 30s, 2m, 1h)`,
    );
  }
  const ms = Math.round(Number(match[1]) * factor);
  if (ms <= 0) throw new InputError(field, `duration ${JSON.stringify(text)} must be above zero`);
  if (!(ms <= MAX_DURATION_MS)) {
    throw new InputError(
      field,
      `duration ${JSON.stringify(text)} is too long (at most ${MAX_DURATION_MS} ms, about 596h)`,
    );
  }
  return ms;
}

/** Docker's --cpus: a decimal number of CPUs, 0.01 up to the CPUs this process may use. */
export function parseCpus(field: string, value: string | number, available: number): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new InputError(field, `invalid CPU count ${JSON.stringify(text)} (expected e.g. 0.5, 2)`);
  const cpus = Number(text);
  if (cpus < 0.01 || cpus > available) {
    throw new InputError(
      field,
      `range of CPUs is from 0.01 to ${available.toFixed(2)}, as there are only ${available} CPUs available`,
    );
  }
  return cpus;
}

/** A whole number within [min, max]. */
export function parseInteger(field: string, value: string | number, min: number, max: number): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!/^-?\d+$/.test(text))
    throw new InputError(field, `expected a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new InputError(field, `must be between ${min} and ${max}, got ${text}`);
  return n;
}

/** cpuset list syntax: `0-3`, `0,2`, `1-2,5`; every CPU must exist. */
export function parseCpuset(field: string, value: string, cpuCount: number): string {
  const text = value.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text))
    throw new InputError(field, `invalid CPU list ${JSON.stringify(value)} (expected e.g. 0-1 or 0,2)`);
  for (const part of text.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    if (hi === undefined || lo > hi) throw new InputError(field, `invalid range ${part}`);
    if (hi >= cpuCount)
      throw new InputError(field, `CPU ${hi} does not exist (this host has CPUs 0-${cpuCount - 1})`);
  }
  return text;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} B`;
}
