// Properties of the size, duration and CPU parsers (harness/job/units.ts) and of resolveJobSpec, which
// every entry point goes through: what they take round-trips to the number written, and whatever they
// refuse is an InputError naming the field — never a crash, never a silently wrong number.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveJobSpec, type JobSpecInput } from '../../harness/job/spec.js';
import { InputError, MAX_DURATION_MS, parseCpus, parseDuration, parseSize } from '../../harness/job/units.js';
import { badInputs } from '../support/tally.js';

const RUNS = 300;
const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** Calls `parse`, asserts it refused with an InputError naming `field`; returns the message. */
function refusal(field: string, parse: () => unknown): string {
  let thrown: unknown;
  try {
    parse();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'accepted').toBeInstanceOf(InputError);
  const error = thrown as InputError;
  expect(error.field).toBe(field);
  expect(error.message.startsWith(`${field}: `)).toBe(true);
  expect(error.reason.length).toBeGreaterThan(10);
  return error.message;
}

/** Text in the parsers' own grammar is judged by them; these are strings that cannot be in it. */
const junk = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '-1', '-1m', '+5', '0x10', '1e3', 'Infinity', 'NaN', '1.', '.5', '1..2', '5 5'),
  fc.tuple(fc.nat(), fc.stringMatching(/^[a-z]{1,4}$/)).map(([n, unit]) => `${n}${unit}`),
);

describe('parseSize', () => {
  it('n<unit> round-trips to n × the unit (any case, spaces around)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(SIZE_UNITS)),
        fc.integer({ min: 1, max: 4096 }),
        fc.boolean(),
        fc.boolean(),
        (unit, n, upper, spaced) => {
          const text = `${spaced ? ' ' : ''}${n}${upper ? unit.toUpperCase() : unit}${spaced ? ' ' : ''}`;
          expect(parseSize('memory', text)).toBe(n * (SIZE_UNITS[unit] ?? NaN));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('decimals floor to whole bytes; a bare number is bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 99 }), (whole, cents) => {
        const text = `${whole}.${String(cents).padStart(2, '0')}k`;
        expect(parseSize('tmp-size', text)).toBe(
          Math.floor(Number(`${whole}.${String(cents).padStart(2, '0')}`) * 1024),
        );
        expect(parseSize('tmp-size', String(whole))).toBe(whole);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses anything else naming the field, and never returns a non-positive or unsafe number', () => {
    let refused = 0;
    fc.assert(
      fc.property(junk, (text) => {
        let bytes: number | undefined;
        try {
          bytes = parseSize('memory', text);
        } catch {
          refusal('memory', () => parseSize('memory', text));
          refused++;
          return;
        }
        // what is accepted is the grammar: digits, an optional fraction, a known unit
        expect(text).toMatch(/^\s*\d+(\.\d+)?\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i);
        expect(Number.isSafeInteger(bytes) && bytes > 0).toBe(true);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ max: 0 })), (n) => {
        if (Number.isSafeInteger(n) && n > 0) return;
        refusal('memory-swap', () => parseSize('memory-swap', n));
        refused++;
      }),
      { numRuns: RUNS },
    );
    expect(refused).toBeGreaterThan(RUNS);
    badInputs('parseSize: junk sizes', refused);
  });
});

describe('parseDuration', () => {
  it('n<unit> round-trips to milliseconds; a bare number is seconds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(DURATION_UNITS), ''),
        fc.integer({ min: 1, max: 500 }),
        (unit, n) => {
          expect(parseDuration('timeout', `${n}${unit}`)).toBe(n * (DURATION_UNITS[unit] ?? 1000));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses junk, zero and what a Node timer cannot hold, naming the field', () => {
    let refused = 0;
    fc.assert(
      fc.property(junk, (text) => {
        let ms: number | undefined;
        try {
          ms = parseDuration('cpu-time', text);
        } catch {
          refusal('cpu-time', () => parseDuration('cpu-time', text));
          refused++;
          return;
        }
        expect(text).toMatch(/^\s*\d+(\.\d+)?\s*(ms|s|m|min|h)?\s*$/i);
        expect(Number.isSafeInteger(ms) && ms > 0 && ms <= MAX_DURATION_MS).toBe(true);
      }),
      { numRuns: RUNS },
    );
    // too long for setTimeout, which would fire at once: refused, with the reason (not "above zero")
    fc.assert(
      fc.property(fc.integer({ min: 597, max: 10 ** 9 }), (hours) => {
        expect(refusal('timeout', () => parseDuration('timeout', `${hours}h`))).toMatch(/too long/);
        refused++;
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(fc.constantFrom('0', '0s', '0ms', '0.0001s', '0.4ms', '0h'), (text) => {
        expect(refusal('timeout', () => parseDuration('timeout', text))).toMatch(/above zero/);
        refused++;
      }),
      { numRuns: 20 },
    );
    badInputs('parseDuration: junk, zero and overlong durations', refused);
  });
});

describe('parseCpus', () => {
  it('decimals from 0.01 to the CPUs available round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 6400 }),
        (available, hundredths) => {
          fc.pre(hundredths <= available * 100);
          const text = (hundredths / 100).toFixed(2);
          expect(parseCpus('cpus', text, available)).toBeCloseTo(hundredths / 100, 10);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses junk, below 0.01 and above the CPUs available, naming the field and the range', () => {
    let refused = 0;
    fc.assert(
      fc.property(junk, fc.integer({ min: 1, max: 64 }), (text, available) => {
        let cpus: number | undefined;
        try {
          cpus = parseCpus('cpus', text, available);
        } catch {
          refusal('cpus', () => parseCpus('cpus', text, available));
          refused++;
          return;
        }
        expect(cpus >= 0.01 && cpus <= available).toBe(true);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 1000 }), (available, over) => {
        const message = refusal('cpus', () => parseCpus('cpus', String(available + over / 100), available));
        expect(message).toContain(`from 0.01 to ${available.toFixed(2)}`);
        refusal('cpus', () => parseCpus('cpus', (Math.min(over, 999) / 100_000).toFixed(5), available));
        refused += 2;
      }),
      { numRuns: RUNS },
    );
    badInputs('parseCpus: junk and out-of-range CPU counts', refused);
  });
});

describe('resolveJobSpec: whichever option is bad, the refusal names it', () => {
  /** option key → the field name its InputError must carry (the CLI flag without dashes) */
  const FIELDS: [keyof JobSpecInput, string][] = [
    ['memory', 'memory'],
    ['cpus', 'cpus'],
    ['cpuShares', 'cpu-shares'],
    ['cpusetCpus', 'cpuset-cpus'],
    ['pidsLimit', 'pids-limit'],
    ['blkioWeight', 'blkio-weight'],
    ['timeout', 'timeout'],
    ['cpuTime', 'cpu-time'],
    ['tmpSize', 'tmp-size'],
    ['nofile', 'nofile'],
    ['outputLimit', 'output-limit'],
    ['hostname', 'hostname'],
    ['network', 'network'],
  ];

  it('one junk value among valid ones is refused with its own field', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), junk, ([key, field], value) => {
        const input = { command: ['true'], env: {}, [key]: value } as JobSpecInput;
        try {
          resolveJobSpec(input);
        } catch {
          refusal(field, () => resolveJobSpec(input));
          refused++;
        }
      }),
      { numRuns: 600 },
    );
    expect(refused).toBeGreaterThan(300);
    badInputs('resolveJobSpec: one junk option', refused);
  });
});
