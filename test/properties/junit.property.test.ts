// Property of the JUnit writer (reporters/junit.ts): whatever strings a job brings — names, suites,
// output, reasons, error messages, command lines, test names, with markup, `]]>`, control characters,
// ANSI escapes, lone surrogates, U+FFFE — the document validates against junit-10.xsd and has
// exactly the elements the report asks for (no string turned into markup). Many entries go into one
// document per xmllint call, so a run costs two xmllint processes, not one per string.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../support/reports.js';
import type { JobResult, JobStatus } from '../../harness/job/result.js';
import { renderJUnit } from '../../reporters/junit.js';
import type { JobEntry, JobOutcome, RunReport } from '../../reporters/types.js';
import { JUNIT_XSD } from '../support/sandbox.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-prop-junit-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Pieces that break naive XML writers, mixed with any code point at all. */
const NASTY = [
  '<',
  '>',
  '&',
  '"',
  "'",
  ']]>',
  ']]',
  '<![CDATA[',
  '<skipped/>',
  '</testcase>',
  '&amp;',
  '&#0;',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001f',
  '\u007f',
  '\u0085',
  '\r',
  '\n',
  '\t',
  '\u001b[31m',
  '\u001b]0;title\u0007',
  '\u009b2J',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  '\ufffe',
  '\uffff',
  '\ufeff',
  'x',
];
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...NASTY), maxLength: 12 }),
  fc.string({ maxLength: 20 }),
);

const STATUSES: JobStatus[] = ['passed', 'failed', 'timeout', 'oom', 'signaled', 'error', 'aborted'];
const OUTCOMES: JobOutcome[] = [...STATUSES, 'flaky', 'skipped'];

function result(status: JobStatus, s: string[]): JobResult {
  const [name = '', out = '', err = '', reason = '', message = '', cmd = '', step = '', state = ''] = s;
  return {
    name,
    command: [cmd, name],
    status,
    exitCode: status === 'failed' ? 1 : status === 'passed' ? 0 : null,
    signal: status === 'signaled' ? 'SIGSEGV' : null,
    reason,
    termination: status === 'timeout' ? 'wall-timeout' : status === 'aborted' ? 'abort' : null,
    startedAt: '2025-03-01T10:00:00.000Z',
    wallMs: 12.5,
    cpu: { userMs: 1, systemMs: 2, totalMs: 3 },
    memory: {
      peakBytes: 4096,
      limitBytes: 65536,
      oomKills: status === 'oom' ? 1 : 0,
      failcnt: 0,
      maxRssBytes: 1,
    },
    pids: { peak: 2, limit: 8 },
    io: { readBytes: 0, writeBytes: 0 },
    limits: { timeoutMs: 1000, cpuTimeMs: null, cpus: null },
    stdout: out,
    stderr: err,
    stdoutTruncated: false,
    stderrTruncated: false,
    error: status === 'error' ? { step, code: message.slice(0, 8) || null, message } : null,
    diagnostics: {
      cgroupVersion: 1,
      processTree: ['timeout', 'oom', 'aborted'].includes(status)
        ? [{ pid: 7, ppid: 1, nsPid: 2, state, rssBytes: 1024, cmdline: cmd }]
        : null,
    },
  };
}

const entry: fc.Arbitrary<JobEntry> = fc
  .record({
    outcome: fc.constantFrom(...OUTCOMES),
    strings: fc.array(text, { minLength: 10, maxLength: 10 }),
    suite: fc.oneof(fc.constantFrom('ci', 's<&>"'), text),
    tests: fc.option(
      fc.array(
        fc.record({
          name: text,
          outcome: fc.constantFrom('passed' as const, 'failed' as const, 'skipped' as const),
          durationMs: fc.nat(10_000),
          message: fc.option(text, { nil: undefined }),
        }),
        { maxLength: 3 },
      ),
      { nil: undefined },
    ),
  })
  .map(({ outcome, strings, suite, tests }) => {
    const status: JobStatus = outcome === 'flaky' ? 'passed' : outcome === 'skipped' ? 'failed' : outcome;
    const ran = outcome !== 'skipped';
    const last = ran ? result(status, strings) : null;
    const attempts = outcome === 'flaky' ? [result('failed', strings.slice(2)), last!] : last ? [last] : [];
    const e: JobEntry = { id: strings[8] ?? '', suite, outcome, result: last, attempts };
    if (outcome === 'skipped' || outcome === 'aborted') e.skipReason = strings[9];
    if (tests !== undefined) e.tests = tests;
    return e;
  });

function report(jobs: JobEntry[], name: string): RunReport {
  return runReport(jobs, { manifest: { file: 'm.yml', name } });
}

/** The elements the report asks for: what the document must hold, no more and no fewer. */
function expected(jobs: JobEntry[]): string {
  let testcases = 0;
  let skipped = 0;
  let failures = 0;
  let errors = 0;
  for (const job of jobs) {
    if (job.tests?.length) {
      testcases += job.tests.length;
      skipped += job.tests.filter((t) => t.outcome === 'skipped').length;
      const failedTests = job.tests.filter((t) => t.outcome === 'failed').length;
      failures += failedTests;
      // a failed file with no failed test also gets a testcase of its own that carries the failure
      if (failedTests > 0 || ['passed', 'flaky', 'skipped'].includes(job.outcome)) continue;
    }
    testcases++;
    if (job.outcome === 'skipped' || job.outcome === 'aborted') skipped++;
    if (['failed', 'timeout', 'oom', 'signaled'].includes(job.outcome)) failures++;
    if (job.outcome === 'error') errors++;
  }
  const suites = new Set(jobs.map((j) => j.suite)).size;
  return `${testcases},${suites},${skipped},${failures},${errors}`;
}

describe('JUnit of arbitrary strings', () => {
  let run = 0;
  it('a run whose name holds ">" validates (found by the property below: the root tag was cut there)', () => {
    const file = path.join(dir, 'gt.xml');
    const jobs = fc.sample(entry, { numRuns: 5, seed: 42 });
    fs.writeFileSync(file, renderJUnit(report(jobs, 'a > b ]]> <skipped/>')));
    const lint = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { encoding: 'utf8' });
    expect(lint.status, lint.stderr.slice(0, 2000)).toBe(0);
  });

  it('always validates against junit-10.xsd with exactly the elements asked for', () => {
    let strings = 0;
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 60 }), text, (jobs, name) => {
        const file = path.join(dir, `r${run++}.xml`);
        fs.writeFileSync(file, renderJUnit(report(jobs, name)));
        const lint = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { encoding: 'utf8' });
        expect(lint.status, lint.stderr.slice(0, 2000)).toBe(0);
        const counts = spawnSync(
          'xmllint',
          [
            '--xpath',
            'concat(count(//testcase),",",count(//testsuite),",",count(//skipped),",",count(//failure),",",count(//error))',
            file,
          ],
          { encoding: 'utf8' },
        );
        expect(counts.stdout.trim()).toBe(expected(jobs));
        fs.rmSync(file);
        strings += jobs.length * 10 + 1;
      }),
      { numRuns: 12 },
    );
    // each entry carries ten arbitrary strings (name, suite, output, reasons, messages, cmdline …)
    expect(strings).toBeGreaterThan(80);
    console.log(`junit property: ${strings} arbitrary strings in ${run} documents, all valid`);
  });
});
