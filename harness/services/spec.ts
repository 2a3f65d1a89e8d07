// A job's services (a Redis, a Postgres): each a sandbox of its own, sharing only the job's network
// namespace (harness/services/run.ts runs them). What a service is, validated like a job: every run
// option, plus how to tell it is ready, how long to wait for that, a pause to inject, and the
// services it needs ready first (their start order: startOrder()).
import type {
  JobSpec,
  JobSpecInput,
  ReadyCheck,
  ResolvedReady,
  ServiceInput,
  ServiceSpec,
} from '../job/spec-types.js';
import { findCycle, suggest, topologicalOrder } from '../manifest/graph.js';
import { InputError, parseDuration, parseInteger } from '../job/units.js';

export type { ReadyCheck, ResolvedReady, ServiceInput, ServiceSpec } from '../job/spec-types.js';

export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** `ready` as a human reads it in a failure: `tcp:6379`, `command "redis-cli ping"`, `log /Ready/`. */
export function describeReady(ready: ResolvedReady | null): string {
  if (ready === null) return 'start';
  if ('tcp' in ready) return `tcp:${ready.tcp}`;
  if ('log' in ready) return `log /${ready.log}/`;
  return `command ${JSON.stringify(ready.command.join(' '))}`;
}

function resolveReady(name: string, ready: ReadyCheck | undefined): ResolvedReady | null {
  const field = `services.${name}.ready`;
  if (ready === undefined) return null;
  const keys = Object.keys(ready);
  if (keys.length !== 1)
    throw new InputError(field, 'must be one of {tcp: PORT}, {command: …} or {log: REGEX}');
  if ('tcp' in ready) return { tcp: parseInteger(field, ready.tcp, 1, 65535) };
  if ('log' in ready) {
    if (typeof ready.log !== 'string' || ready.log === '')
      throw new InputError(field, 'log wants a regular expression');
    try {
      new RegExp(ready.log);
    } catch (error) {
      throw new InputError(field, `log: ${(error as Error).message}`);
    }
    return { log: ready.log };
  }
  if ('command' in ready) {
    const command = typeof ready.command === 'string' ? ['/bin/sh', '-c', ready.command] : [...ready.command];
    if (command.length === 0 || command.some((a) => typeof a !== 'string'))
      throw new InputError(field, 'command wants a string or a list of arguments');
    return { command };
  }
  throw new InputError(field, `unknown check ${JSON.stringify(keys[0])} (tcp, command or log)`);
}

/**
 * The job's services, each resolved as a job of its own by `resolveJob` (job/spec.ts's resolveJobSpec,
 * passed in: the job's resolver calls this one); a bad one refused naming it.
 */
export function resolveServices(
  services: readonly ServiceInput[],
  network: string,
  resolveJob: (input: JobSpecInput) => JobSpec,
): ServiceSpec[] {
  if (services.length > 0 && network !== 'none' && network !== 'allow')
    throw new InputError(
      'services',
      'need --network none or allow:…: the job and its services share a network namespace of their own',
    );
  const seen = new Set<string>();
  const resolved = services.map((input) => {
    const { name, ready, readyTimeout, pause, needs, ...rest } = input;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name ?? ''))
      throw new InputError('services', `invalid service name ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new InputError('services', `service ${JSON.stringify(name)} named twice`);
    seen.add(name);
    let spec: JobSpec;
    try {
      spec = resolveJob({ ...rest, name, network: 'none' });
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`services.${name}.${error.field}`, error.reason);
      throw error;
    }
    return {
      name,
      spec,
      ready: resolveReady(name, ready),
      readyTimeoutMs:
        readyTimeout === undefined
          ? DEFAULT_READY_TIMEOUT_MS
          : parseDuration(`services.${name}.ready-timeout`, readyTimeout),
      pause:
        pause === undefined
          ? null
          : {
              afterMs: parseDuration(`services.${name}.pause.after`, pause.after),
              forMs: parseDuration(`services.${name}.pause.for`, pause.for),
            },
      needs: [...new Set(needs === undefined ? [] : typeof needs === 'string' ? [needs] : needs)],
    };
  });
  checkNeeds(resolved);
  return resolved;
}

/** Every service needed is another of the job's, and no needs go round in a cycle. */
function checkNeeds(services: readonly ServiceSpec[]): void {
  const names = services.map((s) => s.name);
  for (const service of services)
    for (const need of service.needs) {
      const field = `services.${service.name}.needs`;
      if (typeof need !== 'string') throw new InputError(field, 'wants service names');
      if (need === service.name) throw new InputError(field, 'a service cannot need itself');
      if (!names.includes(need))
        throw new InputError(
          field,
          `needs ${JSON.stringify(need)}, but the job has no service of that name${suggest(need, names)}`,
        );
    }
  const cycle = findCycle(services);
  if (cycle) throw new InputError(`services.${cycle[0]}.needs`, `needs form a cycle: ${cycle.join(' → ')}`);
}

/**
 * The order services start in: each after every service it needs, the listed order among those
 * free to start at the same time (deterministic); they end in the reverse of it.
 */
export function startOrder(services: readonly ServiceSpec[]): ServiceSpec[] {
  return topologicalOrder(services);
}
