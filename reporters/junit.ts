// JUnit XML as Jenkins, GitLab and GitHub test reporters read it, built with junit-report-builder and
// valid against the Jenkins xunit plugin's junit-10.xsd (test/fixtures/junit-10.xsd). What that
// schema allows decided the layout:
//
// - Resource figures go in the TESTSUITE's <properties>, one `ringfence.<id>.<figure>` per figure and
//   job (`ringfence.<id>#<repeat>.<figure>` for entries of a repeated run): junit-10.xsd gives
//   <testcase> no <properties> child, so per-testcase properties would not validate.
// - Flaky jobs: the xsd does allow <flakyFailure> in a testcase, but junit-report-builder 5 has no way
//   to emit it, so a flaky job is a passing testcase with `ringfence.<id>.flaky=true` and
//   `ringfence.<id>.attempts=<n>`, and each failed attempt's reason is listed in its <system-out>.
// - `aborted` is not a JUnit outcome: an aborted job is reported as <skipped message="aborted: …">.
// - Two fix-ups of the builder's text, both outside CDATA and checked: it writes a `skipped` count on
//   the root <testsuites>, which the xsd does not allow (removed); and its <skipped/> takes no
//   message, so the message is added to each <skipped/> in document order (junit-xml.ts, with the
//   text made safe for XML).
import jrb, { type Builder, type TestCase, type TestSuite } from 'junit-report-builder';
import type { JobResult, ProcessInfo, ServiceResult } from '../harness/job/result.js';
import type { JobEntry, RunReport, TestCaseEntry } from './types.js';
import { writeFileAtomic } from './atomic.js';
import { cdataSafe, fixUp, xmlSafe } from './junit-xml.js';
import { netFigures, netText } from './net.js';

/** Each of system-out / system-err keeps at most the last this many bytes of the captured output. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

// The package's types declare an ES default export, but its CommonJS file sets `module.exports` to the
// builder itself, which is what Node's ESM import hands us; accept either shape.
function isBuilder(x: unknown): x is Builder {
  return (
    typeof x === 'object' && x !== null && typeof (x as { newBuilder?: unknown }).newBuilder === 'function'
  );
}
const imported: unknown = jrb;
const rootBuilder: Builder = isBuilder(imported) ? imported : jrb.default;

/** The last `max` bytes of `text` (cut on a character boundary), with a line saying so when cut. */
function keepTail(text: string, max: number, what: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  let start = bytes.length - max;
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return (
    `[ringfence: ${what} cut to its last ${max / 1024} KiB: the first ${start} of ${bytes.length} bytes are not shown]\n` +
    bytes.subarray(start).toString('utf8')
  );
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;
}

/** Seconds for a `time` attribute: millisecond precision, never exponent notation (the xsd's pattern). */
function seconds(ms: number): number {
  return Math.round(Math.max(0, ms)) / 1000;
}

/** `2024-05-01T12:00:00`: the surefire / Jenkins timestamp form (no zone), in UTC. */
function timestamp(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms).toISOString().slice(0, 19);
}

function oomMessage(r: JobResult): string {
  const { limitBytes, peakBytes } = r.memory;
  const peak = peakBytes === null ? '' : ` (peak ${mib(peakBytes)})`;
  return limitBytes === null
    ? `killed by the OOM killer with no memory limit set${peak}`
    : `exceeded memory limit ${mib(limitBytes)}${peak}`;
}

/** `ringfence.<figure>` → value, for the figures the result has (nulls left out). */
function figures(entry: JobEntry): [string, string | number][] {
  const out: [string, string | number | null][] = [];
  const r = entry.result;
  if (r) {
    out.push(
      ['wall_ms', r.wallMs],
      ['cpu.user_ms', r.cpu.userMs],
      ['cpu.system_ms', r.cpu.systemMs],
      ['cpu.total_ms', r.cpu.totalMs],
      ['memory.peak_bytes', r.memory.peakBytes],
      ['memory.limit_bytes', r.memory.limitBytes],
      ['memory.oom_kills', r.memory.oomKills],
      ['pids.peak', r.pids.peak],
      ['pids.limit', r.pids.limit],
      // forks refused at the cap: a job that still exits 0 hit it all the same
      ['pids.refused', r.pids.refused ?? null],
      // --disk / --files: what the job left in its capped /tmp and layers, and the cap it reached
      ['disk.bytes', r.disk?.bytes ?? null],
      ['disk.files', r.disk?.files ?? null],
      ['disk.limit_bytes', r.disk?.limitBytes ?? null],
      ['disk.limit_files', r.disk?.limitFiles ?? null],
      ['disk.cap_reached', r.disk?.capReached ?? null],
      ['io.read_bytes', r.io?.readBytes ?? null],
      ['io.write_bytes', r.io?.writeBytes ?? null],
      ['io.rchar', r.io?.rchar ?? null],
      ['io.wchar', r.io?.wchar ?? null],
      // v2 pressure stall totals: how long the job waited on CPU, memory (near its cap) and I/O
      ['pressure.cpu.some_ms', r.pressure?.cpu?.someMs ?? null],
      ['pressure.memory.some_ms', r.pressure?.memory?.someMs ?? null],
      ['pressure.memory.full_ms', r.pressure?.memory?.fullMs ?? null],
      ['pressure.io.some_ms', r.pressure?.io?.someMs ?? null],
      ['pressure.io.full_ms', r.pressure?.io?.fullMs ?? null],
      ['figures', r.enforcement?.figures ?? null],
      ['not_enforced', r.enforcement?.notEnforced.length ? r.enforcement.notEnforced.join(' ') : null],
      // --fs overlay: how many paths the job wrote outside its workdir (discarded; listed in system-out)
      ['fs.mode', r.filesystem?.mode ?? null],
      ['fs.changes', r.filesystem?.changes ? r.filesystem.changes.length + r.filesystem.truncated : null],
      // paused through the freezer (RunningJob.pause): how often and for how long in all
      ['paused.count', r.pauses?.length ?? null],
      ['paused.ms', r.pauses ? Math.round(r.pauses.reduce((sum, p) => sum + p.forMs, 0)) : null],
    );
    // --network allow:…: what the job reached and was refused through its way out
    if (r.network) out.push(...netFigures(r.network));
    // each service's own: how it ended, when it was ready, what it used
    for (const s of r.services ?? []) {
      const sr = s.result;
      out.push(
        [`service.${s.name}.status`, s.outcome],
        [`service.${s.name}.ready_ms`, s.readyMs],
        [`service.${s.name}.cpu.total_ms`, sr?.cpu.totalMs ?? null],
        [`service.${s.name}.memory.peak_bytes`, sr?.memory.peakBytes ?? null],
        [`service.${s.name}.memory.oom_kills`, sr ? sr.memory.oomKills : null],
        [
          `service.${s.name}.paused.ms`,
          sr?.pauses ? Math.round(sr.pauses.reduce((n, p) => n + p.forMs, 0)) : null,
        ],
      );
    }
  }
  out.push(['status', entry.outcome]);
  if (entry.outcome === 'flaky') out.push(['flaky', 'true']);
  if (entry.outcome === 'flaky' || entry.attempts.length > 1) out.push(['attempts', entry.attempts.length]);
  return out.filter((f): f is [string, string | number] => f[1] !== null);
}

function processTreeText(tree: ProcessInfo[], status: string): string {
  const lines = [
    `--- ringfence: the job's processes when it was stopped (${status}) ---`,
    `${'PID'.padStart(8)} ${'PPID'.padStart(8)} S ${'RSS'.padStart(11)} CMDLINE`,
  ];
  for (const p of tree) {
    lines.push(
      `${String(p.pid).padStart(8)} ${String(p.ppid).padStart(8)} ${p.state || '?'} ${mib(p.rssBytes).padStart(11)} ${p.cmdline}`,
    );
  }
  return lines.join('\n');
}

function attemptsText(entry: JobEntry): string {
  const n = entry.attempts.length;
  const lines = [
    entry.outcome === 'flaky'
      ? `--- ringfence: flaky: passed on attempt ${n} of ${n}; the failed attempts were ---`
      : `--- ringfence: ${n} attempts ---`,
  ];
  entry.attempts.forEach((a, i) => {
    if (entry.outcome !== 'flaky' || a.status !== 'passed')
      lines.push(`attempt ${i + 1}: ${a.status}: ${a.reason}`);
  });
  return lines.join('\n');
}

/**
 * What the job wrote outside its workdir (`--fs overlay`) — and with `outputs`, in it, but for what
 * was written back — one path a line; null when nothing.
 */
function filesystemText(r: JobResult): string | null {
  const changes = r.filesystem?.changes;
  const total = changes ? changes.length + (r.filesystem?.truncated ?? 0) : 0;
  if (!changes || total === 0) return null;
  const count = `${r.filesystem?.incomplete ? 'at least ' : ''}${total} path${total === 1 ? '' : 's'}`;
  const where = r.filesystem?.outputs ? 'that were not its outputs' : 'outside its workdir';
  const lines = [`--- ringfence: wrote ${count} ${where} (discarded with its overlay) ---`];
  for (const c of changes) {
    const size = c.kind === 'deleted' || c.type === 'dir' ? '' : ` (${c.bytes} B)`;
    lines.push(`${c.kind.padEnd(7)} ${c.type.padEnd(7)} ${c.path}${size}${c.replaced ? ' (replaced)' : ''}`);
  }
  if (r.filesystem && r.filesystem.truncated > 0) lines.push(`… and ${r.filesystem.truncated} more`);
  return lines.join('\n');
}

/** A service's section of system-out: how it ended and its output's tail. */
function serviceText(s: ServiceResult): string {
  const ready = s.readyMs === null ? 'never ready' : `ready in ${s.readyMs} ms`;
  const output = `${s.result?.stdout ?? ''}${s.result?.stderr ?? ''}`;
  const head = `--- ringfence: service ${s.name}: ${s.outcome}, ${ready}${s.result ? `; ${s.result.reason}` : ''} ---`;
  return xmlSafe(`${head}\n${keepTail(output, 16 * 1024, 'output')}`);
}

function systemOut(entry: JobEntry): string {
  const r = entry.result;
  const parts: string[] = [];
  if (r && r.stdout !== '') parts.push(keepTail(xmlSafe(r.stdout), MAX_OUTPUT_BYTES, 'stdout'));
  if (entry.attempts.length > 1) parts.push(attemptsText(entry));
  if (r?.diagnostics.processTree?.length) parts.push(processTreeText(r.diagnostics.processTree, r.status));
  const written = r ? filesystemText(r) : null;
  if (written) parts.push(xmlSafe(written));
  const net = r?.network ? netText(r.network) : null;
  if (net) parts.push(xmlSafe(net));
  for (const s of r?.services ?? []) parts.push(serviceText(s));
  return cdataSafe(parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''));
}

/** Sets the outcome on the testcase; returns the <skipped> message when it is skipped. */
function setOutcome(tc: TestCase, entry: JobEntry): string | null {
  const r = entry.result;
  const fallback = r?.reason ?? entry.skipReason ?? entry.outcome;
  switch (entry.outcome) {
    case 'passed':
    case 'flaky':
      return null;
    case 'failed':
      tc.failure(xmlSafe(r?.exitCode != null ? `exited with code ${r.exitCode}` : fallback), 'exit');
      return null;
    case 'timeout':
      tc.failure(xmlSafe(fallback), 'timeout');
      return null;
    case 'oom':
      tc.failure(xmlSafe(r ? oomMessage(r) : fallback), 'oom');
      return null;
    case 'signaled':
      tc.failure(xmlSafe(r?.signal ? `killed by ${r.signal}` : fallback), 'signal');
      return null;
    case 'error': {
      const e = r?.error;
      const detail = e ? `step: ${e.step}\ncode: ${e.code ?? '-'}\n${e.message}` : undefined;
      tc.error(xmlSafe(fallback), 'error', detail === undefined ? undefined : cdataSafe(detail));
      return null;
    }
    case 'skipped':
      tc.skipped();
      return xmlSafe(entry.skipReason ?? 'skipped');
    case 'aborted':
      // JUnit has no "aborted": the run was interrupted, so the job reads as skipped, and says why
      tc.skipped();
      return xmlSafe(`aborted: ${entry.skipReason ?? r?.reason ?? 'the run was interrupted'}`);
  }
}

function addCase(suite: TestSuite, name: string, entry: JobEntry): string | null {
  const r = entry.result;
  const tc = suite
    .testCase()
    .className(xmlSafe(name))
    .name(xmlSafe(entry.id))
    .time(seconds(r?.wallMs ?? 0));
  const skipMessage = setOutcome(tc, entry);
  const out = systemOut(entry);
  if (out !== '') tc.standardOutput(out);
  if (r && r.stderr !== '')
    tc.standardError(cdataSafe(keepTail(xmlSafe(r.stderr), MAX_OUTPUT_BYTES, 'stderr')));
  return skipMessage;
}

/**
 * A job that knows its tests (a Vitest file) becomes one <testcase> per test, classname = the job's id
 * (the file, as Vitest's own JUnit reporter does). The sandbox's output, process tree and stderr go
 * with the first test that failed (the one a kill ended, when the sandbox ended the file), else the
 * first test. Returns the <skipped> messages in document order.
 */
function addTestCases(suite: TestSuite, entry: JobEntry, tests: TestCaseEntry[]): string[] {
  const r = entry.result;
  const skipMessages: string[] = [];
  const carrier = Math.max(
    0,
    tests.findIndex((t) => t.outcome === 'failed'),
  );
  tests.forEach((test, i) => {
    const tc = suite
      .testCase()
      .className(xmlSafe(entry.id))
      .name(xmlSafe(test.name))
      .time(seconds(test.durationMs));
    if (test.outcome === 'failed') {
      // a failure the sandbox caused is typed by its outcome (oom, timeout …), a test's own as assertion
      const sandboxEnded = !['passed', 'failed', 'flaky', 'skipped'].includes(entry.outcome);
      tc.failure(xmlSafe(test.message ?? 'failed'), sandboxEnded ? entry.outcome : 'assertion');
    } else if (test.outcome === 'skipped') {
      tc.skipped();
      skipMessages.push(xmlSafe(test.message ?? 'skipped'));
    }
    if (i !== carrier) return;
    const out = systemOut(entry);
    if (out !== '') tc.standardOutput(out);
    if (r && r.stderr !== '')
      tc.standardError(cdataSafe(keepTail(xmlSafe(r.stderr), MAX_OUTPUT_BYTES, 'stderr')));
  });
  return skipMessages;
}

/**
 * The report as a JUnit XML document: one <testsuite> per suite, one <testcase> per job entry — or per
 * test, for an entry that lists its tests.
 */
export function renderJUnit(report: RunReport): string {
  // a fresh builder per report: the package's default export is one shared, stateful instance
  const b = rootBuilder.newBuilder();
  b.name(xmlSafe(report.manifest?.name ?? 'ringfence'));

  const suites = new Map<string, JobEntry[]>();
  for (const entry of report.jobs) {
    const list = suites.get(entry.suite);
    if (list) list.push(entry);
    else suites.set(entry.suite, [entry]);
  }

  const skipMessages: string[] = [];
  for (const [name, entries] of suites) {
    const starts = entries
      .flatMap((e) => [...e.attempts, ...(e.result ? [e.result] : [])])
      .map((r) => r.startedAt)
      .filter((s) => !Number.isNaN(Date.parse(s)))
      .sort((a, b2) => Date.parse(a) - Date.parse(b2));
    const wallMs = entries.reduce((sum, e) => sum + Math.round(Math.max(0, e.result?.wallMs ?? 0)), 0);
    const suite = b
      .testSuite()
      .name(xmlSafe(name))
      .timestamp(timestamp(starts[0] ?? report.startedAt))
      .time(wallMs / 1000);
    for (const entry of entries) {
      const key = entry.repeat === undefined ? entry.id : `${entry.id}#${entry.repeat}`;
      for (const [figure, value] of figures(entry)) {
        suite.property(xmlSafe(`ringfence.${key}.${figure}`), xmlSafe(String(value)));
      }
    }
    for (const entry of entries) {
      if (entry.tests?.length) {
        skipMessages.push(...addTestCases(suite, entry, entry.tests));
        // a file that failed with no failed test (an afterAll error, a kill after its last test):
        // its own testcase carries the failure, or JUnit readers would count the file green
        const failedFile = !['passed', 'flaky', 'skipped'].includes(entry.outcome);
        if (!failedFile || entry.tests.some((t) => t.outcome === 'failed')) continue;
      }
      const message = addCase(suite, name, entry);
      if (message !== null) skipMessages.push(message);
    }
  }
  return `${fixUp(b.build(), skipMessages)}\n`;
}

/** Writes renderJUnit(report) to `file` atomically (temp file + fsync + rename). */
export function writeJUnitFile(file: string, report: RunReport): void {
  writeFileAtomic(file, renderJUnit(report));
}
