import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../harness/manifest/load.js';
import { ManifestError, type Manifest } from '../../harness/manifest/types.js';
import { resolveJobSpec } from '../../harness/job/spec.js';
import { InputError } from '../../harness/job/units.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/manifests');
const fixture = (name: string): string => path.join(dir, name);

/** The ManifestError that loading `name` throws. */
function refusal(name: string): ManifestError {
  try {
    loadManifest(name.startsWith('/') ? name : fixture(name));
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  throw new Error(`${name} loaded without an error`);
}

/** 1-based number of the first line of `name` that contains `text`. */
function lineOf(name: string, text: string): number {
  const index = fs
    .readFileSync(fixture(name), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text));
  expect(index).toBeGreaterThanOrEqual(0);
  return index + 1;
}

const withoutFile = ({ file: _file, ...rest }: Manifest) => rest;

describe('loadManifest: valid manifests', () => {
  const listed = loadManifest(fixture('valid.yml'));

  it('reads the list form, the map form and JSON into the same Manifest', () => {
    expect(listed.file).toBe(fixture('valid.yml'));
    expect(withoutFile(loadManifest(fixture('valid-map.yml')))).toEqual(withoutFile(listed));
    expect(withoutFile(loadManifest(fixture('valid.json')))).toEqual(withoutFile(listed));
  });

  it('keeps manifest order and names the suite', () => {
    expect(listed.name).toBe('demo');
    expect(listed.jobs.map((job) => job.name)).toEqual(['build', 'unit tests', 'lint', 'report']);
    expect(loadManifest(fixture('shards.yml')).name).toBe('shards');
  });

  it('merges defaults under each job (the job wins), stringifies env into extraEnv', () => {
    const [build, unit, lint, report] = listed.jobs;
    expect(build).toEqual({
      name: 'build',
      spec: {
        name: 'build',
        command: ['node', '--version'],
        workdir: path.dirname(dir),
        // ci's own defaults, under the manifest's
        disk: 'auto',
        files: 'auto',
        memory: '512m',
        timeout: '30s',
        extraEnv: { CI: 'true', LEVEL: '1' },
      },
      needs: [],
      retries: 1,
    });
    expect(unit).toEqual({
      name: 'unit tests',
      spec: {
        name: 'unit tests',
        command: 'echo unit',
        workdir: dir,
        disk: 'auto',
        files: 'auto',
        memory: '256m',
        timeout: '30s',
        pidsLimit: 64,
        volumes: [`${path.dirname(dir)}:/fixtures:ro`],
        extraEnv: { CI: 'true', LEVEL: '2', MODE: 'fast' },
      },
      needs: ['build'],
      retries: 1,
    });
    expect(lint?.spec).toMatchObject({ command: ['sh', '-c', 'exit 0'], timeout: 5, readOnly: true });
    expect(lint?.retries).toBe(0);
    expect(report?.needs).toEqual(['unit tests', 'lint']);
    expect(listed.defaults).toEqual({ memory: '256m', timeout: '30s', extraEnv: { CI: 'true', LEVEL: '1' } });
  });

  it('resolves cwd and volume sources against the manifest directory, not the process cwd', () => {
    const resolved = listed.jobs.map((job) => resolveJobSpec(job.spec));
    expect(resolved.map((spec) => spec.workdir)).toEqual([path.dirname(dir), dir, dir, dir]);
    expect(resolved[1]?.volumes).toEqual([
      { source: path.dirname(dir), target: '/fixtures', readOnly: true },
    ]);
    expect(resolved[1]?.limits).toEqual({ memoryBytes: 256 * 1024 ** 2, pidsLimit: 64 });
    expect(resolved[1]?.env).toMatchObject({ CI: 'true', LEVEL: '2', MODE: 'fast' });
  });

  describe('another extension: JSON if it parses, else YAML', () => {
    // made in beforeAll, not at collection: a run whose name filter skips these tests runs no afterAll
    let tmp = '';
    beforeAll(() => void (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringfence-manifest-'))));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('reads both', () => {
      const expected = loadManifest(fixture('shards.yml')).jobs.map((job) => ({
        ...job,
        spec: { ...job.spec, workdir: tmp },
      }));
      const asYaml = path.join(tmp, 'ci.manifest');
      fs.copyFileSync(fixture('shards.yml'), asYaml);
      expect(loadManifest(asYaml).jobs).toEqual(expected);
      const asJson = path.join(tmp, 'ci.conf');
      fs.writeFileSync(
        asJson,
        JSON.stringify({ jobs: expected.map(({ name, needs }) => ({ name, command: 'true', needs })) }),
      );
      expect(loadManifest(asJson).jobs).toEqual(expected);
    });
  });
});

describe('loadManifest: refusals', () => {
  it('a bad size: names the job, the field and the YAML line, with the CLI reason', () => {
    const error = refusal('bad-memory.yml');
    expect(error).toMatchObject({ job: 'hungry', field: 'memory', line: 8 });
    expect(lineOf('bad-memory.yml', 'memory: 12zz')).toBe(8);
    let cli: unknown;
    try {
      resolveJobSpec({ command: ['true'], memory: '12zz' });
    } catch (thrown) {
      cli = thrown;
    }
    expect(cli).toBeInstanceOf(InputError);
    expect(error.reason).toBe((cli as InputError).reason);
    expect(error.message).toBe(
      `${fixture('bad-memory.yml')}:8, job "hungry", field "memory": ${error.reason}`,
    );
  });

  it('a bad size in defaults: the first job that uses it, at the line in defaults', () => {
    expect(refusal('bad-memory-default.yml')).toMatchObject({ job: 'build', field: 'memory', line: 2 });
  });

  it('a bad size in JSON: the line too', () => {
    const error = refusal('bad-memory.json');
    expect(error).toMatchObject({ job: 'hungry', field: 'memory', line: lineOf('bad-memory.json', '12zz') });
  });

  it('a volume whose source is missing: the line of that volume', () => {
    const error = refusal('bad-volume.yml');
    expect(error).toMatchObject({ job: 'mounts', field: 'volumes', line: 6 });
    expect(error.reason).toContain(path.join(dir, 'no-such-dir'));
  });

  it('an output that leaves the workdir: the line of that output, with the CLI reason', () => {
    const error = refusal('bad-outputs.yml');
    expect(error).toMatchObject({
      job: 'build',
      field: 'outputs',
      line: lineOf('bad-outputs.yml', '- ../elsewhere'),
    });
    expect(error.reason).toBe('"../elsewhere" must stay inside the workdir (no .., no //)');
  });

  it('a value of the wrong type', () => {
    const error = refusal('bad-type.yml');
    expect(error).toMatchObject({ job: 'typed', field: 'read-only', line: 4 });
    expect(error.reason).toBe('expected true or false, got "yes please"');
  });

  it('a missing command', () => {
    expect(refusal('no-command.yml')).toMatchObject({
      job: 'build',
      field: 'command',
      reason: 'is required',
    });
  });

  it('an unknown key, at the key, with a suggestion', () => {
    const error = refusal('unknown-key.yml');
    expect(error).toMatchObject({ job: 'build', field: 'memroy', line: 4 });
    expect(error.reason).toBe('unknown key "memroy" (did you mean "memory"?)');
    expect(refusal('unknown-top-key.yml')).toMatchObject({ job: undefined, field: 'job', line: 2 });
  });

  it('a cycle, listed', () => {
    const error = refusal('cycle.yml');
    expect(error).toMatchObject({ job: 'a', field: 'needs', line: 6 });
    expect(error.reason).toBe('needs form a cycle: a → c → b → a');
  });

  it('a job that needs itself', () => {
    expect(refusal('self-needs.yml')).toMatchObject({ job: 'loop', field: 'needs', line: 4 });
  });

  it('a need that names no job', () => {
    const error = refusal('unknown-needs.yml');
    expect(error).toMatchObject({ job: 'test', field: 'needs', line: 6 });
    expect(error.reason).toBe('needs "biuld", but no job has that name (did you mean "build"?)');
  });

  it('a duplicate name', () => {
    const error = refusal('duplicate.yml');
    expect(error).toMatchObject({ job: 'build', field: 'name', line: 6 });
    expect(error.reason).toContain('line 2');
  });

  it('no jobs', () => {
    expect(refusal('empty-jobs.yml')).toMatchObject({ field: 'jobs', line: 2 });
    expect(refusal('empty-jobs.yml').reason).toMatch(/^is empty/);
  });

  describe('bad syntax, at the parser line', () => {
    // a file prettier cannot parse would break `prettier --check .`: write real syntax errors here
    // made in beforeAll, not at collection: a run whose name filter skips these tests runs no afterAll
    let tmp = '';
    beforeAll(() => void (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringfence-manifest-'))));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const write = (name: string, text: string): string => {
      fs.writeFileSync(path.join(tmp, name), text);
      return path.join(tmp, name);
    };

    it('YAML', () => {
      const error = refusal(
        write('ci.yml', "jobs:\n  - name: build\n    command: 'true'\n   needs: [oops\n"),
      );
      expect(error).toMatchObject({ job: undefined, field: undefined, line: 4 });
      expect(error.reason).toBe('invalid YAML: Sequence item without - indicator (column 1)');
      const json = refusal(
        write('ci.json', '{\n  "jobs": [\n    { "name": "build", "command": "true" },\n  ]\n}\n'),
      );
      expect(json).toMatchObject({ line: 4 });
      expect(json.reason).toMatch(/^invalid JSON: /);
    });

    it('YAML that parses but is not well-formed (a key twice)', () => {
      const error = refusal('duplicate-key.yml');
      expect(error).toMatchObject({ line: 4 });
      expect(error.reason).toMatch(/^invalid YAML: Map keys must be unique/);
    });

    it('JSON', () => {
      const error = refusal('bad-syntax.json');
      expect(error).toMatchObject({ job: undefined, line: lineOf('bad-syntax.json', '//') });
      expect(error.reason).toMatch(/^invalid JSON: /);
      expect(refusal(write('short.json', '{"jobs": [1 2]}'))).toMatchObject({ line: 1 });
    });
  });

  it('a file that cannot be read: the errno', () => {
    const missing = fixture('no-such-manifest.yml');
    const error = refusal(missing);
    expect(error).toMatchObject({ file: missing, line: undefined });
    expect(error.reason).toBe('cannot read the manifest: ENOENT (no such file or directory)');
    expect(refusal(dir).reason).toMatch(/EISDIR/);
  });
});

describe('services: needs', () => {
  // made when the tests run, not when the file is collected: a filtered run skips afterAll
  let tmp = '';
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-load-service-needs-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const head = 'services:\n  db:\n    command: db\n';

  it('a job gets the services its services need, before them', () => {
    const file = write(
      'ok.yml',
      `${head}  api:\n    command: api\n    needs: db\njobs:\n  - name: j\n    services: api\n    command: x\n`,
    );
    const services = loadManifest(file).jobs[0]?.spec.services ?? [];
    expect(services.map((s) => [s.name, s.needs])).toEqual([
      ['db', undefined],
      ['api', ['db']],
    ]);
  });

  it('an unknown name, refused at its line with a near miss', () => {
    const file = write(
      'unknown.yml',
      `${head}  api:\n    command: api\n    needs: [dbb]\njobs:\n  - name: j\n    command: x\n`,
    );
    const error = refusal(file);
    expect(error).toMatchObject({ field: 'services.api.needs', line: 6 });
    expect(error.reason).toBe('needs "dbb", but no service has that name (did you mean "db"?)');
  });

  it('a cycle, refused at the line of its first need', () => {
    const file = write(
      'cycle.yml',
      'services:\n  a:\n    command: a\n    needs: b\n  b:\n    command: b\n    needs: [a]\njobs:\n  - name: j\n    command: x\n',
    );
    const error = refusal(file);
    expect(error).toMatchObject({ field: 'services.a.needs', line: 4 });
    expect(error.reason).toBe('needs form a cycle: a → b → a');
  });

  it('a service that needs itself', () => {
    const file = write('self.yml', `${head}    needs: db\njobs:\n  - name: j\n    command: x\n`);
    expect(refusal(file)).toMatchObject({ field: 'services.db.needs', line: 4 });
  });
});
