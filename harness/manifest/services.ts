// A manifest's `services:` (and `ringfence run --service`): each one's fields as the job's spec
// carries them, their `needs` checked against each other, and the services a job lists completed
// with what they need. Refusals name the service, the field and the line, as load.ts's do for jobs.
import { parseDocument } from '../vendor/yaml.js';
import type { ServiceInput } from '../services/spec.js';
import { InputError } from '../job/units.js';
import { isPlainMap, specFields } from './fields.js';
import { findCycle, suggest } from './graph.js';
import { serviceSchema, type ServiceFields } from './schema.js';
import type { Source } from './source.js';
import { ManifestError } from './types.js';

/**
 * `ringfence run --service '{name: redis, command: redis-server, ready: {tcp: 6379}}'`: one service in
 * YAML's flow form, with the manifest's fields; refused (InputError `service`) naming what is wrong.
 */
export function serviceFromText(text: string, dir: string): ServiceInput {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new InputError('service', `not YAML: ${doc.errors[0]?.message ?? ''}`);
  const data: unknown = doc.toJS();
  if (!isPlainMap(data) || typeof data.name !== 'string' || data.name === '')
    throw new InputError(
      'service',
      `expected {name: NAME, command: …, ready: …}, got ${JSON.stringify(text)}`,
    );
  const { name, ...fields } = data;
  const checked = serviceSchema.safeParse(fields);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new InputError(
      'service',
      `${name}: ${issue?.path.join('.') || 'fields'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return serviceInput(name, checked.data, dir);
}

export function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/** A service as the job's spec carries it: its options (not the job defaults: a service is its own), paths absolute. */
export function serviceInput(name: string, fields: ServiceFields, dir: string): ServiceInput {
  const { command, ready, pause } = fields;
  return {
    ...specFields(fields, dir),
    name,
    command: typeof command === 'string' ? command : command.map(String),
    workdir: specFields(fields, dir).workdir ?? dir,
    ...(ready === undefined
      ? {}
      : {
          ready:
            'command' in ready
              ? { command: typeof ready.command === 'string' ? ready.command : ready.command.map(String) }
              : ready,
        }),
    ...(fields['ready-timeout'] === undefined ? {} : { readyTimeout: fields['ready-timeout'] }),
    ...(pause === undefined ? {} : { pause }),
    ...(fields.needs === undefined ? {} : { needs: serviceNeeds(fields) }),
  };
}

/** A service's `needs` as written, as a list (a position in it is a position in the file). */
function serviceNeeds(fields: ServiceFields): string[] {
  return fields.needs === undefined ? [] : typeof fields.needs === 'string' ? [fields.needs] : fields.needs;
}

/** Every service's `needs` names another of `services:`, and they form no cycle: refused at its line. */
export function checkServiceNeeds(source: Source, services: ReadonlyMap<string, ServiceFields>): void {
  const names = [...services.keys()];
  const lineOf = (name: string, need: string): number | undefined => {
    const fields = services.get(name) as ServiceFields;
    return typeof fields.needs === 'string'
      ? source.line(['services', name, 'needs'])
      : source.line(['services', name, 'needs', serviceNeeds(fields).indexOf(need)]);
  };
  const field = (name: string): string => `services.${name}.needs`;
  const fail = (reason: string, name: string, line: number | undefined): never => {
    throw new ManifestError(source.file, reason, undefined, field(name), line);
  };
  for (const [name, fields] of services)
    for (const need of serviceNeeds(fields)) {
      if (need === name) fail('a service cannot need itself', name, lineOf(name, need));
      if (!services.has(need))
        fail(
          `needs ${JSON.stringify(need)}, but no service has that name${suggest(need, names)}`,
          name,
          lineOf(name, need),
        );
    }
  const cycle = findCycle(
    names.map((name) => ({ name, needs: serviceNeeds(services.get(name) as ServiceFields) })),
  );
  if (cycle) {
    const [first, second] = cycle as [string, string];
    fail(`needs form a cycle: ${cycle.join(' → ')}`, first, lineOf(first, second));
  }
}

/** A job's services and, before them, every service they need (transitively), each once. */
export function withNeeded(
  wanted: readonly string[],
  services: ReadonlyMap<string, ServiceFields>,
): string[] {
  const out: string[] = [];
  const visit = (name: string): void => {
    if (out.includes(name)) return;
    for (const need of serviceNeeds(services.get(name) as ServiceFields)) visit(need);
    out.push(name);
  };
  wanted.forEach(visit);
  return out;
}
