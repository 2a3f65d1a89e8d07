// Reads a CI manifest (YAML or JSON; the text is source.ts's, the shapes schema.ts's, the fields'
// mapping fields.ts's, the services services.ts's) into a Manifest whose every job has passed
// resolveJobSpec, whose `needs` name existing jobs and form no cycle.
// Anything wrong is one ManifestError naming the file, the job, the field and, where known, the line.
import fs from 'node:fs';
import path from 'node:path';
import { z } from '../vendor/zod.js';
import { resolveJobSpec, type JobSpecInput } from '../job/spec.js';
import { InputError } from '../job/units.js';
import { envFrom, isPlainMap, manifestField, specFields, volumeFrom } from './fields.js';
import { findCycle, suggest } from './graph.js';
import {
  DEFAULTS_KEYS,
  JOB_KEYS,
  MANIFEST_OPTIONS,
  defaultsSchema,
  describe,
  jobName,
  keyedJobSchema,
  listedJobSchema,
  serviceSchema,
  topSchema,
  type JobFields,
  type Options,
  type ServiceFields,
} from './schema.js';
import { checkServiceNeeds, listOf, serviceInput, withNeeded } from './services.js';
import { errnoText, parseText, type PathKey, type Source } from './source.js';
import { ManifestError, type Manifest, type ManifestJob } from './types.js';

// ---------------------------------------------------------------------------------------------
// Validation.

interface RawJob {
  name: string;
  /** Path of the job in the document: ['jobs', index] or ['jobs', key]. */
  at: PathKey[];
  /** Named by its key (map form): job-level errors point at the key. */
  keyed: boolean;
  fields: JobFields;
  needs: string[];
}

function check<T>(source: Source, schema: z.ZodType<T>, value: unknown, at: PathKey[], job?: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  let where: PathKey[] = [
    ...at,
    ...issue.path.map((step) => (typeof step === 'symbol' ? String(step) : step)),
  ];
  let which: 'value' | 'key' = 'value';
  let reason = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    where = [...where, key];
    which = 'key';
    const known =
      where[0] === 'defaults' ? DEFAULTS_KEYS : where[0] === 'jobs' ? JOB_KEYS : ['name', 'defaults', 'jobs'];
    reason = `unknown key ${JSON.stringify(key)}${suggest(key, known) || ` (known keys: ${known.join(', ')})`}`;
  }
  // the field: the key under a job or under defaults, or the top-level key
  const field =
    where[0] === 'jobs' || where[0] === 'defaults' ? where[where[0] === 'jobs' ? 2 : 1] : where[0];
  return fail(
    source,
    reason,
    job,
    field === undefined ? undefined : String(field),
    source.line(where, which),
  );
}

function fail(source: Source, reason: string, job?: string, field?: string, line?: number): never {
  throw new ManifestError(source.file, reason, job, field, line);
}

function jobLine(source: Source, job: RawJob): number | undefined {
  return source.line(job.at, job.keyed ? 'key' : 'value');
}

function readJobs(source: Source, jobs: unknown): RawJob[] {
  if (jobs === undefined)
    fail(source, 'is required: give a list (or map) of jobs', undefined, 'jobs', source.line([]));
  const raw: RawJob[] = [];
  if (Array.isArray(jobs)) {
    jobs.forEach((value: unknown, index) => {
      const at = ['jobs', index];
      const named = isPlainMap(value) && typeof value.name === 'string' ? value.name : undefined;
      const fields = check(source, listedJobSchema, value, at, named);
      raw.push({ name: fields.name, at, keyed: false, fields, needs: needsOf(fields) });
    });
  } else if (isPlainMap(jobs)) {
    const inFile = (source.keys(['jobs']) ?? []).filter((key) => Object.hasOwn(jobs, key));
    const keys = [...inFile, ...Object.keys(jobs).filter((key) => !inFile.includes(key))];
    for (const key of keys) {
      const at = ['jobs', key];
      const named = jobName.safeParse(key);
      if (!named.success)
        fail(source, named.error.issues[0]?.message ?? 'invalid', key, 'name', source.line(at, 'key'));
      const fields = check(source, keyedJobSchema, jobs[key], at, key);
      if (fields.name !== undefined && fields.name !== key) {
        fail(
          source,
          `is ${describe(fields.name)} but the job's key is ${describe(key)}: drop one`,
          key,
          'name',
          source.line([...at, 'name']),
        );
      }
      raw.push({ name: key, at, keyed: true, fields, needs: needsOf(fields) });
    }
  } else {
    fail(
      source,
      `expected a list or a map of jobs, got ${describe(jobs)}`,
      undefined,
      'jobs',
      source.line(['jobs']),
    );
  }
  if (raw.length === 0)
    fail(source, 'is empty: a manifest needs at least one job', undefined, 'jobs', source.line(['jobs']));
  return raw;
}

/** What `ringfence ci` gives a job that sets an option nowhere (`disk`, `files`): its `ciDefault`s. */
const CI_DEFAULTS: Partial<JobSpecInput> = Object.fromEntries(
  MANIFEST_OPTIONS.flatMap((option) =>
    option.manifest?.ciDefault === undefined ? [] : [[option.key, option.manifest.ciDefault]],
  ),
);

/** `needs` as written, as a list (a position in it is a position in the file). */
function needsAsWritten(fields: JobFields): string[] {
  return fields.needs === undefined ? [] : typeof fields.needs === 'string' ? [fields.needs] : fields.needs;
}

function needsOf(fields: JobFields): string[] {
  return [...new Set(needsAsWritten(fields))];
}

/** Does resolveJobSpec refuse this much on its own? (to point at one volume or variable) */
function refuses(part: Partial<JobSpecInput>): boolean {
  try {
    resolveJobSpec({ command: ['true'], env: {}, ...part });
    return false;
  } catch (error) {
    if (error instanceof InputError) return true;
    throw error;
  }
}

/** The line of the value behind resolveJobSpec's refusal of `field` for `job`: the job's own, else defaults'. */
function blame(
  source: Source,
  dir: string,
  job: RawJob,
  defaults: Options,
  field: string,
): number | undefined {
  const owners: { at: PathKey[]; options: Options }[] = [
    { at: job.at, options: job.fields },
    { at: ['defaults'], options: defaults },
  ];
  if (field === 'volumes') {
    for (const { at, options } of owners) {
      const index = options.volumes?.findIndex((volume) => refuses({ volumes: [volumeFrom(dir, volume)] }));
      if (index !== undefined && index >= 0) return source.line([...at, 'volumes', index]);
    }
  }
  if (field === 'outputs') {
    for (const { at, options } of owners) {
      const outputs = options.outputs as string[] | undefined;
      const index = outputs?.findIndex((output) => refuses({ outputs: [output] }));
      if (index !== undefined && index >= 0) return source.line([...at, 'outputs', index]);
    }
  }
  if (field === 'env') {
    for (const { at, options } of owners) {
      const key = Object.entries(envFrom(options.env ?? {})).find(([k, v]) =>
        refuses({ extraEnv: { [k]: v } }),
      )?.[0];
      if (key !== undefined) return source.line([...at, 'env', key], 'key');
    }
  }
  const owner = owners.find(({ options }) => Object.hasOwn(options, field));
  return owner ? source.line([...owner.at, field]) : jobLine(source, job);
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function resolveJob(
  source: Source,
  dir: string,
  job: RawJob,
  defaults: Options,
  services: ReadonlyMap<string, ServiceFields> = new Map(),
): ManifestJob {
  const own = specFields(job.fields, dir);
  const base = specFields(defaults, dir);
  const command = job.fields.command;
  const workdir = own.workdir ?? base.workdir ?? dir;
  const spec: JobSpecInput = {
    ...CI_DEFAULTS,
    ...base,
    ...own,
    name: job.name,
    command: typeof command === 'string' ? command : command.map(String),
    workdir,
  };
  if (base.extraEnv !== undefined || own.extraEnv !== undefined)
    spec.extraEnv = { ...base.extraEnv, ...own.extraEnv };
  // a service needed by one the job lists comes with it, as Compose starts a depends_on
  const wanted = withNeeded(listOf(job.fields.services), services);
  if (wanted.length)
    spec.services = wanted.map((name) => serviceInput(name, services.get(name) as ServiceFields, dir));
  if (!isDirectory(workdir)) {
    const reason = `${JSON.stringify(workdir)} is not a directory`;
    fail(source, reason, job.name, 'cwd', blame(source, dir, job, defaults, 'cwd'));
  }
  try {
    resolveJobSpec(spec);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const field = manifestField(error.field);
    // a service's own field: its line under `services:`
    const service = /^services\.([^.]+)\.([^.]+)/.exec(field);
    const line = service
      ? (source.line(['services', service[1] ?? '', service[2] ?? '']) ??
        source.line(['services', service[1] ?? '']))
      : blame(source, dir, job, defaults, field);
    fail(source, error.reason, job.name, field, line);
  }
  return { name: job.name, spec, needs: job.needs, retries: job.fields.retries ?? defaults.retries ?? 0 };
}

function checkGraph(source: Source, jobs: RawJob[]): void {
  const names = jobs.map((job) => job.name);
  for (const job of jobs) {
    job.needs.forEach((need) => {
      const line = source.line([...job.at, 'needs', needsAsWritten(job.fields).indexOf(need)]);
      if (need === job.name) fail(source, 'a job cannot need itself', job.name, 'needs', line);
      if (!names.includes(need)) {
        fail(
          source,
          `needs ${JSON.stringify(need)}, but no job has that name${suggest(need, names)}`,
          job.name,
          'needs',
          line,
        );
      }
    });
  }
  const cycle = findCycle(jobs);
  if (cycle) {
    const [first, second] = cycle as [string, string];
    const job = jobs.find((candidate) => candidate.name === first) as RawJob;
    const line = source.line([...job.at, 'needs', needsAsWritten(job.fields).indexOf(second)]);
    fail(source, `needs form a cycle: ${cycle.join(' → ')}`, first, 'needs', line);
  }
}

/** Reads and validates a manifest (.yml/.yaml as YAML, .json as JSON, anything else: JSON, else YAML). */
export function loadManifest(file: string): Manifest {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  let content: string;
  try {
    content = fs.readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ManifestError(file, `cannot read the manifest: ${errnoText(error)}`);
  }
  const { data, source } = parseText(file, content.replace(/^\uFEFF/, ''));
  if (!isPlainMap(data)) {
    // an empty (or comments-only) document has no node to point at: it is wrong from line 1
    const reason =
      data === null || data === undefined
        ? 'the manifest is empty: give a map with a `jobs` key'
        : `expected a map with a \`jobs\` key at the top level, got ${describe(data)}`;
    fail(source, reason, undefined, undefined, source.line([]) ?? 1);
  }
  const top = check(source, topSchema, data, []);
  const defaults =
    top.defaults === undefined || top.defaults === null
      ? {}
      : check(source, defaultsSchema, top.defaults, ['defaults']);
  const raw = readJobs(source, top.jobs);

  const seen = new Map<string, RawJob>();
  for (const job of raw) {
    const earlier = seen.get(job.name);
    if (earlier) {
      const where = jobLine(source, earlier);
      const reason = `duplicate job name: an earlier job${where === undefined ? '' : ` (line ${where})`} has it`;
      fail(source, reason, job.name, 'name', source.line([...job.at, 'name']));
    }
    seen.set(job.name, job);
  }
  const services = new Map<string, ServiceFields>();
  for (const [name, value] of Object.entries(top.services ?? {}))
    services.set(name, check(source, serviceSchema, value, ['services', name]));
  for (const job of raw) {
    for (const [i, name] of listOf(job.fields.services).entries()) {
      if (services.has(name)) continue;
      const at =
        typeof job.fields.services === 'string' ? [...job.at, 'services'] : [...job.at, 'services', i];
      const known = [...services.keys()];
      fail(
        source,
        `unknown service ${JSON.stringify(name)} (${known.length ? `the manifest's services: ${known.join(', ')}` : 'the manifest has no `services:`'})`,
        job.name,
        'services',
        source.line(at),
      );
    }
  }
  checkServiceNeeds(source, services);
  const jobs = raw.map((job) => resolveJob(source, dir, job, defaults, services));
  const keptBy = new Map<string, string>();
  for (const job of jobs) {
    if (job.spec.keepLayer === undefined) continue;
    const other = keptBy.get(job.spec.keepLayer);
    if (other !== undefined) {
      const at = raw.find((r) => r.name === job.name);
      fail(
        source,
        `${JSON.stringify(job.spec.keepLayer)} is also job ${JSON.stringify(other)}'s: one layer per target`,
        job.name,
        'keep-layer',
        at ? source.line([...at.at, 'keep-layer']) : undefined,
      );
    }
    keptBy.set(job.spec.keepLayer, job.name);
  }
  checkGraph(source, raw);

  return {
    file: absolute,
    name: top.name ?? path.basename(absolute, path.extname(absolute)),
    defaults: specFields(defaults, dir),
    jobs,
  };
}
