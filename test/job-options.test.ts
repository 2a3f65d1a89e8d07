// Every declared job option (harness/job/options.ts) reaches the spec through each entry point it
// is declared for: `ringfence run`'s help shows it with its help text and its flag sets the declared
// key, a manifest accepts its key (in a job, and in `defaults` unless a job's own) and maps it to the
// declared key, and the Vitest pool takes it. Parsing only: whether a cap holds is the sandbox
// tests' to show (test/cli.test.ts, test/adversarial/).
import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlags, toSpecInput, type RunFlags } from '../harness/cli/run.js';
import {
  JOB_OPTIONS,
  cliFlags,
  cliOptions,
  manifestKey,
  manifestOptions,
  poolName,
  poolOptions,
  type JobOption,
} from '../harness/job/options.js';
import { loadManifest } from '../harness/manifest/load.js';
import { ManifestError, type Manifest } from '../harness/manifest/types.js';
import { validateOptions, type RingfenceVitestOptions } from '../harness/vitest/pool-options.js';
import { ringfence } from './support/sandbox.js';

const declared: readonly JobOption[] = JOB_OPTIONS;
const name = (option: JobOption): string => `${option.key} (--${option.flag})`;

/** `run`'s own flags, not job options. */
const RUN_OWN = ['json', 'quiet', 'verbose', 'help'];

let lastFlags: RunFlags;

/** `ringfence run FLAGS -- true` as commander parses it, into the job's input. */
function parse(flags: string[]): ReturnType<typeof toSpecInput> {
  const program = new Command().exitOverride().enablePositionalOptions();
  let input: ReturnType<typeof toSpecInput> | undefined;
  runFlags(program)
    .exitOverride()
    .action((command: string[], parsed: RunFlags) => {
      lastFlags = parsed;
      input = toSpecInput(command, parsed);
    });
  program.parse(['run', ...flags, '--', 'true'], { from: 'user' });
  if (!input) throw new Error('run was not parsed');
  return input;
}

describe('ringfence run: its flags are the declared ones', () => {
  let help: ReturnType<typeof ringfence>;
  let flat: string;
  beforeAll(() => {
    help = ringfence('run', '--help');
    flat = help.stdout.replace(/\s+/g, ' ');
  });

  it('--help lists every declared CLI option with its help text, verbatim', () => {
    expect(help.status).toBe(0);
    for (const option of cliOptions())
      expect(flat, name(option)).toContain(`${cliFlags(option)} ${option.help}`);
  });

  it("--help lists no flag that is not declared (but run's own)", () => {
    const listed = [...help.stdout.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]);
    expect(listed.filter((flag) => !RUN_OWN.includes(flag ?? ''))).toEqual(cliOptions().map((o) => o.flag));
  });

  it.each(cliOptions().map((option) => [name(option), option] as const))(
    '%s sets the declared key',
    (_label, option) => {
      const input = parse(
        option.kind === 'boolean' ? [`--${option.flag}`] : [`--${option.flag}`, option.example],
      );
      const set = (input as unknown as Record<string, unknown>)[option.key];
      if (option.cli === 'copy') {
        const written = option.kind === 'boolean' ? true : option.example;
        expect(set).toEqual(option.kind === 'list' ? [written] : written);
        return;
      }
      // the specially mapped ones, each by what its code does
      switch (option.flag) {
        case 'env':
          expect(input.env).toMatchObject({ RF_EXAMPLE: '1' });
          break;
        case 'clean-env':
          expect(Object.keys(input.env ?? {})).toEqual(['PATH']);
          break;
        case 'service':
          // run() parses each with the manifest's service parser (test/services/); the flag collects them
          expect(lastFlags.service).toEqual([option.example]);
          break;
        case 'output':
          // repeated flags are the list; none at all leaves the workdir writable (no empty list)
          expect(input.outputs).toEqual([option.example]);
          expect(parse([]).outputs).toBeUndefined();
          break;
        default:
          expect.unreachable(`no check for the specially mapped CLI option ${name(option)}`);
      }
    },
  );
});

describe('a manifest: its keys are the declared ones', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-job-options-'));
    fs.mkdirSync(path.join(dir, 'fixtures'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function load(doc: unknown): Manifest | ManifestError {
    const file = path.join(dir, `m${n++}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    try {
      return loadManifest(file);
    } catch (error) {
      if (error instanceof ManifestError) return error;
      throw error;
    } finally {
      fs.rmSync(file);
    }
  }

  /** The example as a manifest writes it. */
  function written(option: JobOption): unknown {
    if (option.kind === 'boolean') return true;
    if (option.kind === 'whole') return Number(option.example); // YAML's 64, not "64"
    if (option.kind === 'map') return Object.fromEntries([option.example.split('=')]);
    if (option.flag === 'service') return 'db';
    return option.kind === 'list' ? [option.example] : option.example;
  }

  /** What the job's spec holds for it: as written, or as the declared mapping makes it. */
  function expected(option: JobOption): unknown {
    if (option.manifest?.map === 'path') return path.join(dir, option.example);
    if (option.flag === 'service') return [expect.objectContaining({ name: 'db', command: 'sleep 9' })];
    return written(option);
  }

  /** Some options need another to be valid alone. */
  const COMPANIONS: Record<string, Record<string, unknown>> = { 'memory-swap': { memory: '512m' } };
  const SERVICES = { db: { command: 'sleep 9' } };

  it.each(manifestOptions().map((option) => [name(option), option] as const))(
    '%s: its key is taken in a job and maps to the declared key',
    (_label, option) => {
      const key = manifestKey(option) as string;
      const job = { name: 'a', command: 'true', ...COMPANIONS[key], [key]: written(option) };
      const out = load({ services: SERVICES, jobs: [job] });
      if (out instanceof ManifestError) throw out;
      const [loaded] = out.jobs;
      if (option.key === 'retries') expect(loaded?.retries).toBe(Number(option.example));
      else expect((loaded?.spec as unknown as Record<string, unknown>)[option.key]).toEqual(expected(option));
    },
  );

  it.each(
    manifestOptions()
      .filter((option) => option.manifest?.scope === 'options')
      .map((option) => [name(option), option] as const),
  )('%s: in defaults too', (_label, option) => {
    const key = manifestKey(option) as string;
    const out = load({
      defaults: { ...COMPANIONS[key], [key]: written(option) },
      jobs: [{ name: 'a', command: 'true' }],
    });
    if (out instanceof ManifestError) throw out;
    if (option.key === 'retries') expect(out.jobs[0]?.retries).toBe(Number(option.example));
    else expect((out.defaults as Record<string, unknown>)[option.key]).toEqual(expected(option));
  });

  it.each(
    manifestOptions()
      .filter((option) => option.manifest?.scope === 'job')
      .map((option) => [name(option), option] as const),
  )("%s: a job's own, refused in defaults", (_label, option) => {
    const key = manifestKey(option) as string;
    const out = load({ defaults: { [key]: written(option) }, jobs: [{ name: 'a', command: 'true' }] });
    expect(out).toBeInstanceOf(ManifestError);
    expect((out as ManifestError).reason).toMatch(`unknown key "${key}"`);
  });

  it.each(manifestOptions().map((option) => [name(option), option] as const))(
    '%s: a value of the wrong type is refused, naming the key',
    (_label, option) => {
      const key = manifestKey(option) as string;
      const out = load({
        services: SERVICES,
        jobs: [{ name: 'a', command: 'true', [key]: option.kind === 'map' ? [1] : { x: 1 } }],
      });
      expect(out).toBeInstanceOf(ManifestError);
      expect((out as ManifestError).field).toBe(key);
      expect((out as ManifestError).reason).toMatch(/^expected /);
    },
  );

  it("takes no key that is not declared (a job's own fields aside)", () => {
    const out = load({ jobs: [{ name: 'a', command: 'true', 'not-an-option': 1 }] });
    expect(out).toBeInstanceOf(ManifestError);
    const known = /\(known keys: (.*)\)$/.exec((out as ManifestError).reason)?.[1]?.split(', ');
    expect(known).toEqual(['name', 'command', 'needs', ...jobKeys()]);
  });

  it('lists its keys in the order its messages always have', () => {
    const out = load({ defaults: { 'not-an-option': 1 }, jobs: [{ name: 'a', command: 'true' }] });
    expect((out as ManifestError).reason).toBe(
      'unknown key "not-an-option" (known keys: cwd, env, memory, memory-swap, cpus, cpu-shares, cpuset-cpus, ' +
        'pids-limit, blkio-weight, timeout, cpu-time, network, hostname, user, userns, strict, cgroupns, fs, ' +
        'read-only, allow-git-write, allow-tooling-write, outputs, tmp-size, disk, files, volumes, nofile, output-limit, retries)',
    );
  });
});

/** The declared manifest keys a job takes: its own first, then the options, each in the manifest's order. */
function jobKeys(): string[] {
  const scoped = (scope: string) =>
    manifestOptions()
      .filter((option) => option.manifest?.scope === scope)
      .map((option) => manifestKey(option) as string);
  return [...scoped('job'), ...scoped('options')];
}

describe('the Vitest pool: its options are the declared ones', () => {
  it.each(poolOptions().map((option) => [poolName(option), option] as const))(
    '%s is taken',
    (_label, option) => {
      const value =
        option.kind === 'boolean'
          ? true
          : option.flag === 'service'
            ? [{ name: 'db', command: 'sleep 9' }]
            : option.kind === 'list'
              ? [option.example]
              : option.example;
      expect(() => validateOptions({ [poolName(option)]: value } as RingfenceVitestOptions)).not.toThrow();
    },
  );

  it('refuses any other, listing the declared ones', () => {
    const known = poolOptions().map(poolName).join(', ');
    expect(() => validateOptions({ cgroupns: true } as RingfenceVitestOptions)).toThrow(
      `ringfence(): unknown option "cgroupns" (known: ${known})`,
    );
  });
});

describe('the declaration', () => {
  it('names each library key, flag and manifest key once', () => {
    const once = (names: (string | undefined)[]) => {
      const present = names.filter((n) => n !== undefined);
      expect(new Set(present).size).toBe(present.length);
    };
    once(declared.map((option) => option.flag));
    once(declared.map((option) => manifestKey(option)));
    once(declared.filter((option) => option.library !== false).map((option) => option.key));
    once(declared.map((option) => option.short));
  });
});
