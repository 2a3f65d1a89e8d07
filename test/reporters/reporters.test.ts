// Reporters: the JSON results file (atomic write, validated read), JUnit XML (valid against the Jenkins
// junit-10.xsd for every outcome and for hostile output) and the merge of shard reports. The reports
// are built by hand from realistic JobResults; no sandbox runs here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import type { JobEntry, JobOutcome, RunReport } from '../../reporters/types.js';
import { gitInfo, hostInfo, readResultsFile, writeResultsFile } from '../../reporters/json.js';
import { MAX_OUTPUT_BYTES, renderJUnit, writeJUnitFile } from '../../reporters/junit.js';
import { xmlSafe } from '../../reporters/junit-xml.js';
import { mergeReports } from '../../reporters/merge.js';
import { runReport } from '../support/reports.js';
import { JUNIT_XSD, SHARED_JUNIT_XSD, VENDORED_XSD } from '../support/sandbox.js';

const MiB = 1024 ** 2;
const XSD = JUNIT_XSD;

// ---------------------------------------------------------------------------------------------
// factory: JobResults as the sandbox produces them

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function jobResult(over: Partial<JobResult> = {}): JobResult {
  const base: JobResult = {
    name: 'unit',
    command: ['node', 'test/unit.js'],
    status: 'passed',
    exitCode: 0,
    signal: null,
    reason: 'exited 0',
    termination: null,
    startedAt: at(0),
    wallMs: 1234.567,
    cpu: { userMs: 812.5, systemMs: 97.25, totalMs: 909.75 },
    memory: {
      peakBytes: 48 * MiB,
      limitBytes: 512 * MiB,
      oomKills: 0,
      failcnt: 0,
      maxRssBytes: 41 * MiB,
    },
    pids: { peak: 7, limit: 128 },
    io: { readBytes: 4096, writeBytes: 1_048_576 },
    limits: { timeoutMs: 60_000, cpuTimeMs: null, cpus: 1 },
    stdout: 'all 12 checks passed\n',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    error: null,
    diagnostics: { cgroupVersion: 2, processTree: null },
  };
  return { ...base, ...over };
}

const results = {
  passed: (over: Partial<JobResult> = {}) => jobResult(over),
  failed: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'failed',
      exitCode: 3,
      reason: 'exited with code 3',
      stderr: 'AssertionError: expected 2 to be 3\n',
      ...over,
    }),
  timeout: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'timeout',
      exitCode: null,
      signal: 'SIGKILL',
      reason: 'exceeded wall-clock timeout 1s; killed 3 processes',
      termination: 'wall-timeout',
      wallMs: 1003.2,
      limits: { timeoutMs: 1000, cpuTimeMs: null, cpus: null },
      stdout: 'waiting for the server…\n',
      diagnostics: {
        cgroupVersion: 2,
        processTree: [
          { pid: 41000, ppid: 40990, nsPid: 1, state: 'S', rssBytes: 1_200_000, cmdline: 'ringfence-init' },
          {
            pid: 41001,
            ppid: 41000,
            nsPid: 2,
            state: 'S',
            rssBytes: 31 * MiB,
            cmdline: 'node server.js --port 0',
          },
          { pid: 41007, ppid: 41001, nsPid: 3, state: 'R', rssBytes: 2 * MiB, cmdline: 'sleep 3600' },
        ],
      },
      ...over,
    }),
  oom: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'oom',
      exitCode: null,
      signal: 'SIGKILL',
      reason: 'killed: memory limit 256 MiB reached (OOM kill, peak 256 MiB)',
      memory: {
        peakBytes: 256 * MiB,
        limitBytes: 256 * MiB,
        oomKills: 1,
        failcnt: 14,
        maxRssBytes: 250 * MiB,
      },
      stdout: 'allocating 512 MiB\n',
      ...over,
    }),
  signaled: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'signaled',
      exitCode: null,
      signal: 'SIGSEGV',
      reason: 'killed by SIGSEGV',
      ...over,
    }),
  error: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'error',
      exitCode: null,
      reason: 'could not start: exec nodez: ENOENT',
      wallMs: 0,
      cpu: { userMs: 0, systemMs: 0, totalMs: 0 },
      memory: { peakBytes: null, limitBytes: 512 * MiB, oomKills: 0, failcnt: 0, maxRssBytes: null },
      pids: { peak: null, limit: 128 },
      io: null,
      stdout: '',
      error: { step: 'exec nodez', code: 'ENOENT', message: 'exec nodez: ENOENT' },
      ...over,
    }),
  aborted: (over: Partial<JobResult> = {}) =>
    jobResult({
      status: 'aborted',
      exitCode: null,
      signal: 'SIGKILL',
      reason: 'aborted; killed 2 processes',
      termination: 'abort',
      ...over,
    }),
};

function entry(
  id: string,
  outcome: JobOutcome,
  result: JobResult | null,
  extra: Partial<JobEntry> = {},
): JobEntry {
  return { id, suite: 'ci', outcome, result, attempts: result ? [result] : [], ...extra };
}

/** One entry of every outcome, in two suites. */
function everyOutcome(): RunReport {
  const flakyAttempts = [
    results.timeout({ startedAt: at(100) }),
    results.failed({ startedAt: at(2000), reason: 'exited with code 1', exitCode: 1 }),
    results.passed({ startedAt: at(4000), wallMs: 900 }),
  ];
  return runReport([
    entry('lint', 'passed', results.passed()),
    entry('unit', 'failed', results.failed()),
    entry('e2e', 'timeout', results.timeout()),
    entry('big-sort', 'oom', results.oom()),
    entry('native', 'signaled', results.signaled()),
    entry('typo', 'error', results.error()),
    entry('deploy', 'skipped', null, { skipReason: 'need "unit" failed' }),
    entry('slow', 'aborted', results.aborted(), { skipReason: 'the run was interrupted (SIGINT)' }),
    entry('later', 'aborted', null),
    {
      id: 'network',
      suite: 'integration',
      outcome: 'flaky',
      result: flakyAttempts[2]!,
      attempts: flakyAttempts,
    },
    entry('db', 'passed', results.passed({ wallMs: 2000.4 }), { suite: 'integration' }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// helpers

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-reporters-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let fileNo = 0;
function tmpFile(ext: string): string {
  return path.join(dir, `report-${++fileNo}.${ext}`);
}

function xmllint(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('xmllint', args, { encoding: 'utf8' });
  // CI installs libxml2-utils: a missing xmllint is a failure, never a skip
  if (r.error) throw new Error(`xmllint is required (apt-get install libxml2-utils): ${r.error.message}`);
  return r;
}

/** Writes the report as JUnit, fails unless it validates against junit-10.xsd, returns the file. */
function validJUnit(report: RunReport): string {
  expect(fs.existsSync(XSD), `the schema ${XSD} is missing`).toBe(true);
  const file = tmpFile('xml');
  writeJUnitFile(file, report);
  const r = xmllint(['--noout', '--schema', XSD, file]);
  expect(r.stderr).toContain('validates');
  expect(r.status, r.stderr).toBe(0);
  return file;
}

/** The string value of an XPath expression, as xmllint evaluates it. */
function xpath(file: string, expr: string): string {
  // the end marker makes the value exact whether or not this xmllint adds a newline after it
  const r = xmllint(['--xpath', `concat(${expr}, "<end>")`, file]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.slice(0, r.stdout.lastIndexOf('<end>'));
}

function lsTemp(d: string): string[] {
  return fs.readdirSync(d).filter((n) => n.endsWith('.tmp'));
}

// ---------------------------------------------------------------------------------------------

describe('JUnit', () => {
  it('validates against the same schema as ../shared (the vendored copy is identical)', () => {
    if (fs.existsSync(SHARED_JUNIT_XSD)) {
      expect(fs.readFileSync(VENDORED_XSD, 'utf8')).toBe(fs.readFileSync(SHARED_JUNIT_XSD, 'utf8'));
    }
    expect(fs.existsSync(XSD)).toBe(true);
  });

  it('writes every outcome as a file that validates against junit-10.xsd', () => {
    const file = validJUnit(everyOutcome());
    const tc = (id: string) => `//testcase[@name="${id}"]`;

    expect(xpath(file, 'count(//testsuite)')).toBe('2');
    expect(xpath(file, '//testsuite[@name="ci"]/@tests')).toBe('9');
    expect(xpath(file, '//testsuite[@name="ci"]/@failures')).toBe('4');
    expect(xpath(file, '//testsuite[@name="ci"]/@errors')).toBe('1');
    expect(xpath(file, '//testsuite[@name="ci"]/@skipped')).toBe('3');
    expect(xpath(file, '//testsuite[@name="ci"]/@timestamp')).toBe('2025-03-01T10:00:00');
    expect(xpath(file, '//testsuite[@name="integration"]/@failures')).toBe('0');
    expect(xpath(file, '//testsuite[@name="integration"]/@time')).toBe('2.9');
    expect(xpath(file, `${tc('lint')}/@classname`)).toBe('ci');
    expect(xpath(file, `${tc('lint')}/@time`)).toBe('1.235');
    expect(xpath(file, `count(${tc('lint')}/*[not(self::system-out)])`)).toBe('0');

    expect(xpath(file, `${tc('unit')}/failure/@type`)).toBe('exit');
    expect(xpath(file, `${tc('unit')}/failure/@message`)).toBe('exited with code 3');
    expect(xpath(file, `${tc('unit')}/system-err`)).toBe('AssertionError: expected 2 to be 3\n');

    expect(xpath(file, `${tc('e2e')}/failure/@type`)).toBe('timeout');
    expect(xpath(file, `${tc('e2e')}/failure/@message`)).toContain('exceeded wall-clock timeout 1s');
    const tree = xpath(file, `${tc('e2e')}/system-out`);
    expect(tree).toMatch(/^waiting for the server…\n/);
    expect(tree).toMatch(/41001 +41000 S +31 MiB node server\.js --port 0/);
    expect(tree).toMatch(/41007 +41001 R +2 MiB sleep 3600/);

    expect(xpath(file, `${tc('big-sort')}/failure/@type`)).toBe('oom');
    expect(xpath(file, `${tc('big-sort')}/failure/@message`)).toBe(
      'exceeded memory limit 256 MiB (peak 256 MiB)',
    );
    const prop = (name: string) => xpath(file, `//testsuite/properties/property[@name="${name}"]/@value`);
    expect(prop('ringfence.big-sort.memory.peak_bytes')).toBe(String(256 * MiB));
    expect(prop('ringfence.big-sort.memory.oom_kills')).toBe('1');
    expect(prop('ringfence.big-sort.status')).toBe('oom');

    expect(xpath(file, `${tc('native')}/failure/@type`)).toBe('signal');
    expect(xpath(file, `${tc('native')}/failure/@message`)).toBe('killed by SIGSEGV');

    expect(xpath(file, `${tc('typo')}/error/@type`)).toBe('error');
    expect(xpath(file, `${tc('typo')}/error/@message`)).toBe('could not start: exec nodez: ENOENT');
    expect(xpath(file, `${tc('typo')}/error`)).toContain('code: ENOENT');
    // nulls are left out: the job never ran, so it has no peak and no I/O figures
    expect(xpath(file, 'count(//property[@name="ringfence.typo.memory.peak_bytes"])')).toBe('0');
    expect(xpath(file, 'count(//property[@name="ringfence.typo.io.read_bytes"])')).toBe('0');
    expect(prop('ringfence.typo.memory.limit_bytes')).toBe(String(512 * MiB));

    expect(xpath(file, `${tc('deploy')}/skipped/@message`)).toBe('need "unit" failed');
    expect(prop('ringfence.deploy.status')).toBe('skipped');
    expect(xpath(file, `${tc('slow')}/skipped/@message`)).toBe('aborted: the run was interrupted (SIGINT)');
    expect(xpath(file, `${tc('later')}/skipped/@message`)).toBe('aborted: the run was interrupted');

    // flaky: passes, says so in properties, and lists the failed attempts in system-out
    expect(xpath(file, `count(${tc('network')}/*[self::failure or self::error or self::skipped])`)).toBe('0');
    expect(xpath(file, `count(//flakyFailure)`)).toBe('0');
    expect(prop('ringfence.network.flaky')).toBe('true');
    expect(prop('ringfence.network.attempts')).toBe('3');
    const out = xpath(file, `${tc('network')}/system-out`);
    expect(out).toContain('attempt 1: timeout: exceeded wall-clock timeout 1s');
    expect(out).toContain('attempt 2: failed: exited with code 1');
    expect(out).not.toMatch(/^attempt 3/m);

    for (const [name, value] of [
      ['wall_ms', '1234.567'],
      ['cpu.user_ms', '812.5'],
      ['cpu.system_ms', '97.25'],
      ['cpu.total_ms', '909.75'],
      ['memory.peak_bytes', String(48 * MiB)],
      ['memory.limit_bytes', String(512 * MiB)],
      ['memory.oom_kills', '0'],
      ['pids.peak', '7'],
      ['pids.limit', '128'],
      ['io.read_bytes', '4096'],
      ['io.write_bytes', '1048576'],
      ['status', 'passed'],
    ]) {
      expect(prop(`ringfence.lint.${name}`), name).toBe(value);
    }
    // no testcase-level properties: junit-10.xsd does not allow them
    expect(xpath(file, 'count(//testcase/properties)')).toBe('0');
  });

  it('keeps hostile names and output valid: markup, quotes, NUL, BEL, ANSI, lone surrogates, bad UTF-8', () => {
    const badUtf8 = Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x80, 0x6f]).toString('utf8');
    const nasty =
      `<b>"quoted" & 'single'</b> ${badUtf8} lone\uD800high \uDC00low \uFFFE\uFFFF nul\u0000 bell\u0007 ` +
      `\u001b[31mred\u001b[0m \u001b]0;title\u0007 \u001b(B tab\tcr\r emoji😀 ]]> twice ]]> <skipped/> <![CDATA[ end`;
    const id = `weird <job> & "name" 'x' \u0000\u0007\u001b[1m\uD800`;
    const report = runReport([
      entry(id, 'failed', results.failed({ stdout: nasty, stderr: nasty, reason: nasty }), {
        suite: `s<&>"\u0001`,
      }),
      entry('skip-me', 'skipped', null, { suite: `s<&>"\u0001`, skipReason: nasty }),
    ]);
    const file = validJUnit(report);

    expect(xpath(file, '//testcase[1]/@name')).toBe(`weird <job> & "name" 'x' `);
    expect(xpath(file, '//testsuite[1]/@name')).toBe('s<&>"');
    const out = xpath(file, '//testcase[1]/system-out');
    const err = xpath(file, '//testcase[1]/system-err');
    const skip = xpath(file, '//testcase[2]/skipped/@message');
    for (const text of [out, err]) {
      expect(text).toContain(
        `<b>"quoted" & 'single'</b> fo\uFFFD\uFFFD\uFFFDo lonehigh low  nul bell red   tab\t`,
      );
      expect(text).toContain('emoji😀 ]]&gt; twice ]]&gt; <skipped/> <![CDATA[ end');
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u0008\u001b]/);
    }
    expect(skip).toContain('emoji😀 ]]> twice ]]> <skipped/> <![CDATA[ end');
    // the `<skipped/>` inside CDATA was not mistaken for the element
    expect(xpath(file, 'count(//skipped)')).toBe('1');
    expect(xmlSafe('a\uD83D\uDE00b\uD83Dc\uDE00d')).toBe('a😀bcd');
  });

  it('keeps the last 64 KiB of each output and says it cut the rest', () => {
    const line = 'x'.repeat(99) + '\n';
    const stdout = 'THE START\n' + line.repeat(1500) + 'THE END\n';
    const stderr = '€'.repeat(40_000) + 'LAST';
    const report = runReport([entry('flood', 'passed', results.passed({ stdout, stderr }))]);
    const file = validJUnit(report);
    const out = xpath(file, '//testcase[1]/system-out');
    const err = xpath(file, '//testcase[1]/system-err');
    expect(out).not.toContain('THE START');
    expect(out).toMatch(/THE END\n$/);
    expect(out).toMatch(
      /^\[ringfence: stdout cut to its last 64 KiB: the first \d+ of \d+ bytes are not shown\]\n/,
    );
    expect(err).toMatch(/^\[ringfence: stderr cut to its last 64 KiB/);
    expect(err).toMatch(/€LAST$/);
    // cut on a character boundary: no U+FFFD where the 3-byte euro sign was split
    expect(err).not.toContain('\uFFFD');
    for (const text of [out, err]) {
      const body = text.slice(text.indexOf('\n') + 1);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
      expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_OUTPUT_BYTES - 3);
    }
  });

  it('writes a <testcase> per test for an entry that lists its tests (a Vitest file)', () => {
    const killed = results.timeout({ stdout: 'file output', stderr: 'file stderr' });
    const report = runReport([
      entry('math.test.ts', 'passed', results.passed(), {
        suite: 'vitest',
        tests: [
          { name: 'sum > adds', outcome: 'passed', durationMs: 4 },
          {
            name: 'sum > <b>"odd"</b> & \u0007',
            outcome: 'failed',
            durationMs: 12,
            message: 'expected 3 to be 4',
          },
          { name: 'sum > later', outcome: 'skipped', durationMs: 0, message: 'todo' },
        ],
      }),
      entry('hang.test.ts', 'timeout', killed, {
        suite: 'vitest',
        tests: [{ name: 'hangs', outcome: 'failed', durationMs: 3000, message: 'ringfence: killed' }],
      }),
      // every test passed, then its teardown hung and the sandbox ended the file
      entry('teardown.test.ts', 'timeout', results.timeout(), {
        suite: 'vitest',
        tests: [{ name: 'passes', outcome: 'passed', durationMs: 2 }],
      }),
    ]);
    const file = validJUnit(report);
    expect(xpath(file, 'count(//testcase)')).toBe('6');
    // the file that failed with no failed test has a testcase of its own carrying that failure
    expect(xpath(file, 'count(//testcase[@classname="teardown.test.ts"])')).toBe('1');
    expect(xpath(file, 'string(//testcase[@name="teardown.test.ts"]/failure/@type)')).toBe('timeout');
    expect(xpath(file, 'string(//testcase[@classname="math.test.ts"][2]/@name)')).toBe(
      'sum > <b>"odd"</b> & ',
    );
    expect(xpath(file, 'string(//testcase[@classname="math.test.ts"][2]/failure/@type)')).toBe('assertion');
    expect(xpath(file, 'string(//testcase[@classname="math.test.ts"][2]/failure/@message)')).toBe(
      'expected 3 to be 4',
    );
    expect(xpath(file, 'string(//testcase[@classname="math.test.ts"][3]/skipped/@message)')).toBe('todo');
    // the sandbox's end is the failure's type, and its output goes with the test it ended
    expect(xpath(file, 'string(//testcase[@classname="hang.test.ts"]/failure/@type)')).toBe('timeout');
    expect(xpath(file, 'string(//testcase[@classname="hang.test.ts"]/system-err)')).toBe('file stderr');
    expect(xpath(file, 'string(//testcase[@classname="hang.test.ts"]/@time)')).toBe('3');
    // the file's figures stay on the testsuite, once per file
    expect(xpath(file, 'count(//property[@name="ringfence.math.test.ts.memory.peak_bytes"])')).toBe('1');
    expect(xpath(file, 'string(//testsuite/@tests)')).toBe('6');
  });

  it('uses a fresh builder per report and writes plain decimal times', () => {
    const a = runReport([entry('only-a', 'passed', results.passed({ wallMs: 0.0000001 }))]);
    const b = runReport([entry('only-b', 'passed', results.passed({ wallMs: 1e7 }))]);
    const xmlA = renderJUnit(a);
    const xmlB = renderJUnit(b);
    expect(renderJUnit(a)).toBe(xmlA);
    expect(xmlB).not.toContain('only-a');
    expect(xmlA).toContain('time="0"');
    expect(xmlB).toContain('time="10000"');
    const empty = validJUnit(runReport([]));
    expect(xpath(empty, 'count(//testsuite)')).toBe('0');
  });

  it('writes atomically: a missing directory is an error naming the path, and no temp file is left', () => {
    const missing = path.join(dir, 'no-such-dir', 'junit.xml');
    expect(() => writeJUnitFile(missing, everyOutcome())).toThrow(
      new RegExp(`cannot write ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`),
    );
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
    expect(lsTemp(dir)).toEqual([]);

    // the rename fails (the target is a directory): the temp file is removed, the target untouched
    const target = path.join(dir, 'taken.xml');
    fs.mkdirSync(target);
    expect(() => writeJUnitFile(target, everyOutcome())).toThrow(/cannot write .*taken\.xml: EISDIR/);
    expect(lsTemp(dir)).toEqual([]);
    expect(fs.statSync(target).isDirectory()).toBe(true);

    // an existing file is replaced whole
    const file = tmpFile('xml');
    fs.writeFileSync(file, 'old');
    writeJUnitFile(file, everyOutcome());
    expect(fs.readFileSync(file, 'utf8')).toBe(renderJUnit(everyOutcome()));
    expect(lsTemp(dir)).toEqual([]);
  });
});

describe('JSON results file', () => {
  it('round-trips a report through write and read', () => {
    const file = tmpFile('json');
    const report = everyOutcome();
    writeResultsFile(file, report);
    expect(readResultsFile(file)).toEqual(report);
    expect(lsTemp(dir)).toEqual([]);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).schema).toBe('ringfence.results/1');
  });

  it('writes atomically: a missing directory is an error naming the path and errno, and leaves nothing', () => {
    const missing = path.join(dir, 'gone', 'results.json');
    let error: unknown;
    try {
      writeResultsFile(missing, everyOutcome());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain('ENOENT');
    expect((error as { code?: string }).code).toBe('ENOENT');
    expect(lsTemp(dir)).toEqual([]);
  });

  it('refuses to write a report it could not read back', () => {
    const report = everyOutcome();
    report.jobs[0]!.result!.wallMs = Number.NaN;
    const file = tmpFile('json');
    expect(() => writeResultsFile(file, report)).toThrow(/refusing to write .*jobs\[0\]\.result\.wallMs/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses truncated, garbage, foreign and missing files, naming the file', () => {
    const good = tmpFile('json');
    writeResultsFile(good, everyOutcome());
    const text = fs.readFileSync(good, 'utf8');

    const truncated = tmpFile('json');
    fs.writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)));
    expect(() => readResultsFile(truncated)).toThrow(`results file ${truncated} is not valid JSON`);

    const garbage = tmpFile('json');
    fs.writeFileSync(garbage, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x89, 0x50, 0x4e, 0x47]));
    expect(() => readResultsFile(garbage)).toThrow(`results file ${garbage} is not valid JSON`);

    const empty = tmpFile('json');
    fs.writeFileSync(empty, '');
    expect(() => readResultsFile(empty)).toThrow(/is not valid JSON .*it is empty/);

    const badField = tmpFile('json');
    const data = JSON.parse(text);
    data.jobs[3].result.memory.peakBytes = '256M';
    fs.writeFileSync(badField, JSON.stringify(data));
    expect(() => readResultsFile(badField)).toThrow(
      `results file ${badField} is not a valid ringfence.results/1 file: jobs[3].result.memory.peakBytes: `,
    );

    const missingField = tmpFile('json');
    delete data.jobs[3].result.memory.peakBytes;
    data.jobs[3].result.memory.peakBytes = 1;
    delete data.host;
    fs.writeFileSync(missingField, JSON.stringify(data));
    expect(() => readResultsFile(missingField)).toThrow(/ringfence\.results\/1 file: host: /);

    const array = tmpFile('json');
    fs.writeFileSync(array, '[1, 2]');
    expect(() => readResultsFile(array)).toThrow(
      `results file ${array} is not a valid ringfence.results/1 file: (top level)`,
    );

    const future = tmpFile('json');
    fs.writeFileSync(future, JSON.stringify({ ...JSON.parse(text), schema: 'ringfence.results/2' }));
    expect(() => readResultsFile(future)).toThrow(`results file ${future} has schema "ringfence.results/2"`);

    const absent = path.join(dir, 'absent.json');
    expect(() => readResultsFile(absent)).toThrow(`cannot read results file ${absent}: ENOENT`);
  });

  it('keeps fields a newer writer of the same schema added', () => {
    const file = tmpFile('json');
    const data = { ...everyOutcome(), addedLater: { x: 1 } };
    fs.writeFileSync(file, JSON.stringify(data));
    expect(readResultsFile(file)).toEqual(data);
  });

  it('fills host and git information', () => {
    const host = hostInfo(2);
    expect(host.kernel).toBe(os.release());
    expect(host.hostname).toBe(os.hostname());
    expect(host.arch).toBe(os.arch());
    expect(host.cpus).toBeGreaterThan(0);
    expect(host.cgroupVersion).toBe(2);
    expect(hostInfo(null).cgroupVersion).toBeNull();

    const plain = fs.mkdtempSync(path.join(dir, 'plain-'));
    expect(gitInfo(plain)).toBeNull();

    const repo = fs.mkdtempSync(path.join(dir, 'repo-'));
    const git = (...args: string[]) => {
      const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    git('init', '-q', '-b', 'feature/x');
    expect(gitInfo(repo)).toBeNull(); // no commit yet
    git(
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'first',
    );
    const commit = git('rev-parse', 'HEAD');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gitInfo(repo)).toEqual({ commit, branch: 'feature/x' });
    git('checkout', '-q', '--detach');
    expect(gitInfo(repo)).toEqual({ commit, branch: null });

    // read from .git's files, never by running git (the harness runs no host program after a job):
    // the same answer with no git on PATH, with packed refs, and from a linked worktree
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'no-bin');
    try {
      expect(gitInfo(repo)).toEqual({ commit, branch: null });
    } finally {
      process.env.PATH = saved;
    }
    git('checkout', '-q', 'feature/x');
    git('pack-refs', '--all', '--prune');
    expect(fs.existsSync(path.join(repo, '.git', 'refs', 'heads', 'feature', 'x'))).toBe(false);
    expect(gitInfo(path.join(repo))).toEqual({ commit, branch: 'feature/x' });
    const worktree = path.join(dir, `wt-${path.basename(repo)}`);
    git('worktree', 'add', '-q', '-b', 'side', worktree);
    fs.mkdirSync(path.join(worktree, 'sub'));
    expect(gitInfo(path.join(worktree, 'sub'))).toEqual({ commit, branch: 'side' });
  });
});

describe('merge', () => {
  function shard(index: number, jobs: JobEntry[], over: Partial<RunReport> = {}): RunReport {
    return runReport(jobs, { shard: { index, total: 2 }, ...over });
  }

  it('joins two shards into their union', () => {
    const s1 = shard(
      1,
      [entry('lint', 'passed', results.passed()), entry('unit', 'failed', results.failed())],
      {
        startedAt: at(5_000),
        finishedAt: at(60_000),
      },
    );
    const s2 = shard(
      2,
      [entry('e2e', 'timeout', results.timeout()), entry('big-sort', 'oom', results.oom())],
      {
        startedAt: at(1_000),
        finishedAt: at(75_500),
        interrupted: true,
        host: { hostname: 'ci-runner-9', kernel: '6.8.0-45-generic', arch: 'x64', cpus: 8, cgroupVersion: 2 },
      },
    );
    const merged = mergeReports([s1, s2]);
    expect(merged).toEqual({
      ...s1,
      startedAt: at(1_000),
      finishedAt: at(75_500),
      wallMs: 74_500,
      shard: null,
      interrupted: true,
      jobs: [...s1.jobs, ...s2.jobs],
    });
    expect(merged.host.hostname).toBe('ci-runner-7'); // from the first report
    expect(mergeReports([s2, s1]).jobs.map((j) => j.id)).toEqual(['e2e', 'big-sort', 'lint', 'unit']);

    // the merged report is a valid results file and a valid JUnit file
    const file = tmpFile('json');
    writeResultsFile(file, merged);
    expect(readResultsFile(file)).toEqual(merged);
    validJUnit(merged);
  });

  it('refuses a job present in two reports, naming it', () => {
    const s1 = shard(1, [
      entry('lint', 'passed', results.passed()),
      entry('unit', 'passed', results.passed()),
    ]);
    const s2 = shard(2, [entry('unit', 'failed', results.failed())]);
    expect(() => mergeReports([s1, s2])).toThrow(
      'cannot merge: job "unit" (suite "ci", repeat 0) appears in both report 1 (shard 1/2) and report 2 (shard 2/2)',
    );
    // the same id in another suite, or another repeat, is another job
    const other = shard(2, [
      entry('unit', 'passed', results.passed(), { suite: 'integration' }),
      entry('unit', 'passed', results.passed(), { repeat: 1 }),
    ]);
    expect(mergeReports([s1, other]).jobs).toHaveLength(4);
    // `repeat` left out is repeat 0
    expect(() =>
      mergeReports([s1, shard(2, [entry('lint', 'passed', results.passed(), { repeat: 0 })])]),
    ).toThrow(/job "lint" .*repeat 0/);
  });

  it('refuses reports of different manifests, and nothing at all', () => {
    const s1 = shard(1, [entry('lint', 'passed', results.passed())]);
    const s2 = shard(2, [entry('unit', 'passed', results.passed())], {
      manifest: { file: 'other.yaml', name: 'frontend' },
    });
    expect(() => mergeReports([s1, s2])).toThrow(/manifest "frontend".*manifest "backend"/);
    expect(() => mergeReports([s1, { ...s2, manifest: null }])).toThrow(/no manifest/);
    expect(() => mergeReports([])).toThrow('nothing to merge');
  });
});
