// Properties of the manifest loader (harness/manifest/load.ts): any document at all — junk text, any
// JSON value, near-valid manifests with one field spoiled — is either a valid Manifest or one
// ManifestError naming the file and the field or line; never another exception, never a crash. A
// spoiled field is named as that field, of that job, on its own line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../harness/manifest/load.js';
import { ManifestError, type Manifest } from '../../harness/manifest/types.js';
import { badInputs } from '../support/tally.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-prop-manifest-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function load(text: string, extension: string): Manifest | ManifestError {
  const file = path.join(dir, `m${n++}${extension}`);
  fs.writeFileSync(file, text);
  try {
    return loadManifest(file);
  } catch (error) {
    // anything but a ManifestError is a crash: let it fail the property with its stack
    if (!(error instanceof ManifestError)) throw error;
    expect(error.message.startsWith(file)).toBe(true);
    return error;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The checks every refusal must pass: names the field or the line, and says why. */
function expectClear(error: ManifestError): void {
  expect(error.field !== undefined || error.line !== undefined, error.message).toBe(true);
  expect(error.reason.length).toBeGreaterThan(5);
}

const EXTENSIONS = ['.yml', '.json', '.yaml', ''];
const OPTION_KEYS = [
  'cwd',
  'env',
  'memory',
  'memory-swap',
  'cpus',
  'cpu-shares',
  'cpuset-cpus',
  'pids-limit',
  'blkio-weight',
  'timeout',
  'cpu-time',
  'network',
  'hostname',
  'user',
  'userns',
  'cgroupns',
  'read-only',
  'tmp-size',
  'volumes',
  'nofile',
  'output-limit',
  'retries',
];
const KEYS = ['name', 'command', 'needs', 'jobs', 'defaults', ...OPTION_KEYS];

/** Values of every JSON type, with some that look like sizes, durations and names. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '512m',
    '12zz',
    '30s',
    '-1',
    '0',
    '1.5',
    'none',
    'host',
    '0-1',
    'a',
    '',
    ' ',
    'root',
    '/tmp:/x:ro',
  ),
  fc.integer({ min: -5, max: 1 << 20 }),
);
const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 }));
/** A map that may hold jobs, defaults and anything else, at any of the levels a manifest has. */
const document = fc.letrec((tie) => ({
  job: fc.dictionary(key, value, { maxKeys: 4 }),
  jobs: fc.oneof(
    fc.array(tie('job'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('job'), { maxKeys: 3 }),
    value,
  ),
  top: fc.record(
    { name: value, defaults: fc.oneof(fc.dictionary(key, value, { maxKeys: 3 }), value), jobs: tie('jobs') },
    { requiredKeys: [] },
  ),
})).top;

/** Text made of YAML's own pieces (anchors, aliases, tags, merges, flow, documents), mostly broken. */
const yamlish = fc
  .array(
    fc.constantFrom(
      'jobs:',
      'defaults:',
      'name: a',
      'command: true',
      'needs: a',
      'memory: 1m',
      '- ',
      '  ',
      '\n',
      '&a ',
      '*a',
      '<<: *a',
      '!!binary ',
      '!!int ',
      '!tag ',
      '!!map ',
      '---\n',
      '...\n',
      '{',
      '}',
      '[',
      ']',
      ',',
      '"',
      "'",
      '? ',
      ': ',
      '#',
      '%YAML 1.2\n',
      '|\n',
      '>-\n',
      '\t',
      '\u0000',
      '\ufeff',
      'null',
      '~',
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));

describe('loadManifest on arbitrary documents', () => {
  it('junk text: a Manifest or a ManifestError naming the field or line, never a crash', () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), yamlish),
        fc.constantFrom(...EXTENSIONS),
        (text, extension) => {
          const out = load(text, extension);
          if (out instanceof ManifestError) {
            expectClear(out);
            refused++;
          }
        },
      ),
      {
        numRuns: 300,
        // found by this property: an empty document named no line, and an alias without its anchor
        // (or an alias bomb) escaped as a ReferenceError instead of a ManifestError
        examples: [
          ['', '.yml'],
          ['# only a comment\n', '.yaml'],
          ['*!', '.yml'],
          ['jobs:\n  - name: a\n    command: *nope\n', '.yml'],
          [
            'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\njobs: *b\n',
            '',
          ],
        ],
      },
    );
    badInputs('manifest: junk text', refused);
  });

  it('documents of the right shape with junk inside, as YAML and as JSON', () => {
    let refused = 0;
    fc.assert(
      fc.property(document, fc.boolean(), (doc, asJson) => {
        const out = asJson ? load(JSON.stringify(doc), '.json') : load(stringify(doc), '.yml');
        if (out instanceof ManifestError) {
          expectClear(out);
          refused++;
        } else {
          // accepted: every job really resolved (names unique, needs known)
          const names = out.jobs.map((job) => job.name);
          expect(new Set(names).size).toBe(names.length);
          for (const job of out.jobs) for (const need of job.needs) expect(names).toContain(need);
        }
      }),
      { numRuns: 400 },
    );
    badInputs('manifest: junk documents', refused);
  });
});

describe('loadManifest with one field of a valid job spoiled', () => {
  /** A value of the wrong type or form for `field`, or one out of range. */
  const spoiled: Record<string, fc.Arbitrary<unknown>> = {
    memory: fc.oneof(fc.constantFrom('12zz', '-1m', '0', 'lots', ''), fc.boolean(), fc.constant([1])),
    'memory-swap': fc.constantFrom('12zz', true, {}, 'x'),
    cpus: fc.oneof(fc.constantFrom('half', '-1', '0', '999', ''), fc.constant([])),
    'cpu-shares': fc.oneof(fc.constantFrom('1', '262145', 'x', '1.5'), fc.integer({ min: -100, max: 1 })),
    'cpuset-cpus': fc.constantFrom('0-', 'a', '1-0', '0,,1', '999', true),
    'pids-limit': fc.oneof(fc.constantFrom('2', 'x', '3.5', -1), fc.integer({ max: 2 })),
    'blkio-weight': fc.oneof(fc.integer({ min: 1001 }), fc.integer({ max: 9 }), fc.constant('heavy')),
    timeout: fc.oneof(fc.constantFrom('5x', '0s', '-1s', '', 'soon', '9999h'), fc.constant(false)),
    'cpu-time': fc.constantFrom('1y', '0', 'x', null, {}),
    network: fc.oneof(fc.constantFrom('bridge', 'NONE', '', 'hosts'), fc.integer()),
    hostname: fc.oneof(fc.constantFrom('-bad', 'a b', 'x'.repeat(64), '', 'a_b'), fc.constant([])),
    userns: fc.constantFrom('yes', 1, 'true', null),
    'read-only': fc.constantFrom('no', 0, []),
    'tmp-size': fc.constantFrom('big', '0', -5, false),
    volumes: fc.constantFrom(
      'a:b',
      ['nocolon'],
      ['/x:relative'],
      [1],
      ['/nonexistent-rf:/x'],
      ['/tmp:/x:rx'],
    ),
    nofile: fc.oneof(fc.integer({ max: 15 }), fc.constantFrom('many', 1 << 21)),
    'output-limit': fc.constantFrom('0', 'xl', -1, true),
    retries: fc.oneof(fc.integer({ min: 11 }), fc.integer({ max: -1 }), fc.constantFrom('2', 1.5)),
    env: fc.oneof(fc.constantFrom('A=1', ['A=1'], { A: null }, { A: [] }), fc.constant({ 'A=B': 'x' })),
    needs: fc.constantFrom('nope', ['nope'], 5, { a: 1 }, 'spoilt'),
    command: fc.constantFrom([], '', 5, null, { a: 1 }, [{}]),
    cwd: fc.constantFrom('/nonexistent-rf-dir', 5, true),
  };
  const fields = Object.keys(spoiled);

  it('the error names that field and that job, on the line it is written (YAML)', () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...fields).chain((field) => fc.tuple(fc.constant(field), spoiled[field]!)),
        fc.boolean(),
        ([field, bad], inDefaults) => {
          // `command` and `needs` exist only on jobs
          const inDefaultsHere = inDefaults && !['command', 'needs'].includes(field);
          const line = JSON.stringify(bad);
          const body =
            field === 'command'
              ? `jobs:\n  - name: spoilt\n    command: ${line}\n`
              : inDefaultsHere
                ? `defaults:\n  ${field}: ${line}\njobs:\n  - name: spoilt\n    command: "true"\n`
                : `jobs:\n  - name: spoilt\n    command: "true"\n    ${field}: ${line}\n`;
          const out = load(body, '.yml');
          expect(out, `${field}: ${line} was accepted`).toBeInstanceOf(ManifestError);
          const error = out as ManifestError;
          expectClear(error);
          expect(error.field, error.message).toBe(field);
          expect(error.job === 'spoilt' || (inDefaultsHere && error.job === undefined), error.message).toBe(
            true,
          );
          const expectedLine = inDefaultsHere ? 2 : field === 'command' ? 3 : 4;
          expect(error.line, error.message).toBe(expectedLine);
          refused++;
        },
      ),
      { numRuns: 300 },
    );
    badInputs('manifest: one spoiled field', refused);
  });
});
