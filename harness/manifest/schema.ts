// The manifest's schema, the same for YAML and JSON: the top level, a job, `defaults` and a service,
// each option's shape derived from its declaration (job/options.ts). Types only: values are judged
// by resolveJobSpec, as the CLI's are (load.ts).
import { z } from '../vendor/zod.js';
import { manifestKey, manifestOptions, type JobOption, type OptionKind } from '../job/options.js';

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** Zod error options: "expected WHAT, got VALUE", or "is required" for a missing key. */
function expecting(what: string): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) =>
      issue.input === undefined ? 'is required' : `expected ${what}, got ${describe(issue.input)}`,
  };
}

const NAME_PATTERN = /^[\p{L}\p{N}._:/@+-]+(?: +[\p{L}\p{N}._:/@+-]+)*$/u;
const NAME_RULE = 'letters, digits, spaces (not leading or trailing) and . _ : / @ + -';

export const jobName = z.string(expecting('a job name')).superRefine((name, ctx) => {
  if (!NAME_PATTERN.test(name)) {
    ctx.addIssue({ code: 'custom', message: `invalid job name ${describe(name)} (use ${NAME_RULE})` });
  }
});

const text = (what: string) => z.union([z.string(), z.number()], expecting(what));
const duration = text('a duration such as 30s, or a number of seconds');
const flag = z.boolean(expecting('true or false'));

/** What a refusal says a kind expects, where the option names nothing of its own. */
const EXPECTS: Partial<Record<OptionKind, string>> = {
  size: 'a size such as 512m, or a number of bytes',
  duration: 'a duration such as 30s, or a number of seconds',
  whole: 'a whole number',
};

/** `a, b or c` */
function oneOf(choices: readonly string[]): string {
  return choices.length < 2 ? (choices[0] ?? '') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}

/** The two options whose manifest form is not their kind's: a job's services by name, and retries. */
const OWN_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  services: z.union(
    [z.string(), z.array(z.string())],
    expecting('a service name or a list of service names'),
  ),
  retries: z.number(expecting('a whole number from 0 to 10')).int().min(0).max(10),
};

/** The schema of a declared option, from its kind: types only, the values are resolveJobSpec's to judge. */
function schemaOf(option: JobOption): z.ZodType {
  const what = option.expects ?? EXPECTS[option.kind] ?? oneOf(option.choices ?? []);
  switch (option.kind) {
    case 'size':
    case 'duration':
    case 'whole':
    case 'number':
    case 'text':
      return text(what);
    case 'boolean':
      return flag;
    case 'choice':
      if (option.listForm) {
        const { form, item } = option.listForm;
        const listed = `${what}, or {${form}: [${item}, …]}`;
        return z.union(
          [z.string(), z.strictObject({ [form]: z.array(z.string(expecting(item))) })],
          expecting(listed),
        );
      }
      return z.string(expecting(what));
    case 'path':
      return z.string(expecting(what));
    case 'list':
      return z.array(z.string(expecting(what)), expecting(`a list of ${what}`));
    case 'map':
      return z.record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], expecting('a string, number or boolean')),
        expecting('a map of NAME: value'),
      );
  }
}

export const MANIFEST_OPTIONS = manifestOptions();

/** The declared options of one scope, by manifest key, each optional. */
function shapeOf(scope: 'options' | 'job'): Record<string, z.ZodOptional<z.ZodType>> {
  return Object.fromEntries(
    MANIFEST_OPTIONS.filter((option) => option.manifest?.scope === scope).map((option) => {
      const key = manifestKey(option) as string;
      return [key, (OWN_SCHEMAS[key] ?? schemaOf(option)).optional()];
    }),
  );
}

/** Every option a job, `defaults` or a service may set, by its manifest key (the CLI flag name without dashes). */
const OPTIONS = shapeOf('options');

/** A job's, `defaults`' or a service's options as the schema passed them; the specially mapped ones typed. */
export interface Options {
  readonly [key: string]: unknown;
  cwd?: string;
  env?: Record<string, string | number | boolean>;
  volumes?: string[];
  retries?: number;
}

export const defaultsSchema = z.strictObject(
  OPTIONS,
  expecting('a map of job options'),
) as unknown as z.ZodType<Options>;

const commandSchema = z.union(
  [z.string(), z.array(z.union([z.string(), z.number(), z.boolean()])).min(1, 'is an empty list')],
  expecting('a string (run by /bin/sh -c) or a list of arguments'),
);
const jobOwn = {
  command: commandSchema,
  needs: z
    .union([z.string(), z.array(z.string())], expecting('a job name or a list of job names'))
    .optional(),
};
// keep-layer and services: a job's own (defaults would give every job the same layer target)
const jobFields = { ...jobOwn, ...shapeOf('job'), ...OPTIONS };
export type JobFields = z.infer<z.ZodObject<typeof jobOwn>> &
  Options & { name?: string; 'keep-layer'?: string; services?: string | string[] };
export const listedJobSchema = z.strictObject(
  { name: jobName, ...jobFields },
  expecting('a map of job fields'),
) as unknown as z.ZodType<JobFields & { name: string }>;
export const keyedJobSchema = z.strictObject(
  { name: jobName.optional(), ...jobFields },
  expecting('a map of job fields'),
) as unknown as z.ZodType<JobFields>;
export const topSchema = z.strictObject(
  {
    name: z.string(expecting('a name')).min(1, 'is empty').optional(),
    defaults: z.unknown().optional(),
    services: z.record(z.string(), z.unknown(), expecting('a map of service name → service')).optional(),
    jobs: z.unknown().optional(),
  },
  expecting('a map with a `jobs` key'),
);

export const DEFAULTS_KEYS = Object.keys(OPTIONS);
export const JOB_KEYS = ['name', ...Object.keys(jobFields)];

/** A service: a command and the job options, how it is ready, and a pause to inject. */
const serviceOwn = {
  command: commandSchema,
  ready: z
    .union(
      [
        z.strictObject({ tcp: z.number(expecting('a port number')).int().min(1).max(65535) }),
        z.strictObject({ command: commandSchema }),
        z.strictObject({ log: z.string(expecting('a regular expression')).min(1, 'is empty') }),
      ],
      expecting('one of {tcp: PORT}, {command: …} or {log: REGEX}'),
    )
    .optional(),
  'ready-timeout': duration.optional(),
  pause: z
    .strictObject({ after: duration, for: duration }, expecting('{after: DURATION, for: DURATION}'))
    .optional(),
  needs: z
    .union([z.string(), z.array(z.string())], expecting('a service name or a list of service names'))
    .optional(),
};
export type ServiceFields = z.infer<z.ZodObject<typeof serviceOwn>> & Options;
export const serviceSchema = z.strictObject(
  { ...serviceOwn, ...OPTIONS },
  expecting('a map of service fields'),
) as unknown as z.ZodType<ServiceFields>;
