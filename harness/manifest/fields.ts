// A manifest's option fields as a job spec's (JobSpecInput): under their library keys, paths made
// absolute against the manifest's directory, in the manifest's order. Shared by its jobs and its
// services (load.ts, services.ts); resolveJobSpec judges the values.
import path from 'node:path';
import { manifestKey, type JobOption } from '../job/options.js';
import type { JobSpecInput } from '../job/spec.js';
import { MANIFEST_OPTIONS, type Options } from './schema.js';

/** A YAML or JSON map (not a list, not null). */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `src:dst[:ro]` with src made absolute against the manifest's directory. */
export function volumeFrom(dir: string, volume: string): string {
  const parts = volume.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0]) return volume; // resolveJobSpec says why
  return [path.resolve(dir, parts[0]), ...parts.slice(1)].join(':');
}

export function envFrom(env: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}

/**
 * Options in JobSpecInput form under their library keys (sizes and durations as written; paths
 * absolute), in the manifest's order. A job's services and retries are resolveJob's.
 */
export function specFields(options: Options, dir: string): Partial<JobSpecInput> {
  const out: Record<string, unknown> = {};
  for (const option of MANIFEST_OPTIONS) {
    const value = options[manifestKey(option) as string];
    if (value === undefined) continue;
    const mapped = mapValue(option, value, dir);
    if (mapped !== undefined) out[option.key] = mapped;
  }
  return out as Partial<JobSpecInput>;
}

function mapValue(option: JobOption, value: unknown, dir: string): unknown {
  switch (option.manifest?.map) {
    case 'path':
      return path.resolve(dir, value as string);
    case 'special':
      if (option.key === 'extraEnv') return envFrom(value as Record<string, string | number | boolean>);
      if (option.key === 'volumes') return (value as string[]).map((volume) => volumeFrom(dir, volume));
      return undefined; // services and retries
    default:
      // judged by resolveJobSpec with the CLI's message; text is a string there (a YAML `user: 1000` is a number)
      return option.kind === 'text' ? String(value) : value;
  }
}

/** The manifest key of resolveJobSpec's field (its CLI flag name): `volume` is `volumes`, `workdir` is `cwd`. */
export function manifestField(field: string): string {
  const option = MANIFEST_OPTIONS.find((candidate) => candidate.flag === field);
  return option ? (manifestKey(option) as string) : field;
}
