// Reads the resource figures back out of a JUnit XML report that ringfence wrote (reporters/junit.ts):
// each <testsuite>'s `ringfence.<id>.<figure>` properties (`ringfence.<id>#<repeat>.<figure>` for a
// repeated run). Only those elements are needed, so this is a small scanner rather than a full XML
// parser: CDATA sections and comments (where job output and anything else lives) are blanked first, so
// text in them that looks like a <property> can never be read as one.
import { basename } from 'node:path';
import type { JobOutcome } from '../types.js';
import { CompareInputError, OUTCOMES, runsOf, type MetricName, type Run, type Sample } from './runs.js';

/** The figures junit.ts writes that `compare` uses, by property suffix. */
const FIGURES: Record<string, MetricName> = {
  wall_ms: 'wall',
  'cpu.total_ms': 'cpu',
  'memory.peak_bytes': 'memory',
  'pids.peak': 'pids',
  'disk.bytes': 'disk',
};
/** Every suffix junit.ts writes: an id may contain dots, so the figure is found by its known suffix. */
const ALL_SUFFIXES = [
  ...Object.keys(FIGURES),
  'cpu.user_ms',
  'cpu.system_ms',
  'memory.limit_bytes',
  'memory.oom_kills',
  'pids.limit',
  'pids.refused',
  'disk.files',
  'disk.limit_bytes',
  'disk.limit_files',
  'disk.cap_reached',
  'io.read_bytes',
  'io.write_bytes',
  'io.rchar',
  'io.wchar',
  'status',
  'flaky',
  'attempts',
  'fs.mode',
  'fs.changes',
  'net.mode',
  'net.reached_hosts',
  'net.refused_hosts',
  'paused.count',
  'paused.ms',
].sort((a, b) => b.length - a.length);

const SERVICE_PROPERTY =
  /\.service\.[^.]+\.(status|ready_ms|cpu\.total_ms|memory\.peak_bytes|memory\.oom_kills|paused\.ms)$/;

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, ref: string) => {
    const lower = ref.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? '';
  });
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out.set(m[1] as string, decode(m[2] ?? m[3] ?? ''));
  }
  return out;
}

interface Pending {
  suite: string;
  id: string;
  repeat: number | undefined;
  outcome: JobOutcome | null;
  metrics: Record<MetricName, number | null>;
  written: number | null;
  hosts: string[] | null;
}

/** The runs in a ringfence JUnit report; a CompareInputError names the file and what is wrong. */
export function readJUnitRuns(text: string, file: string): Run[] {
  const fail = (why: string): never => {
    throw new CompareInputError(file, `JUnit file ${file}: ${why}`);
  };
  // blank out CDATA and comments, keeping offsets irrelevant: only tags outside them are read
  const markup = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  if (/<!\[CDATA\[/.test(markup)) fail('an unterminated CDATA section (truncated?)');
  if (!/<testsuites?\b/.test(markup)) fail('no <testsuite> element: not a JUnit report');
  if (!/<\/testsuites?>\s*$/.test(markup)) fail('it does not end with </testsuite(s)>: truncated?');

  const entries = new Map<string, Pending>();
  let suite: string | null = null;
  // attribute values are quoted, and may hold `>` (the builder leaves it unescaped): a tag ends at
  // the first `>` outside quotes
  for (const m of markup.matchAll(/<(testsuite|property)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/g)) {
    const attrs = attributes(m[2] ?? '');
    if (m[1] === 'testsuite') {
      suite = attrs.get('name') ?? basename(file);
      continue;
    }
    const name = attrs.get('name') ?? '';
    if (!name.startsWith('ringfence.') || suite === null) continue;
    const rest = name.slice('ringfence.'.length);
    // a job's service's figures (`<id>.service.<name>.<figure>`) are the job's context, not a test
    if (SERVICE_PROPERTY.test(rest)) continue;
    const suffix = ALL_SUFFIXES.find((s) => rest.endsWith(`.${s}`));
    if (suffix === undefined) continue; // a figure this reader does not know (a newer writer's)
    const key = rest.slice(0, -(suffix.length + 1));
    const hash = /^(.*)#(\d+)$/.exec(key);
    const id = hash ? (hash[1] as string) : key;
    const repeat = hash ? Number(hash[2]) : undefined;
    const mapKey = JSON.stringify([suite, id, repeat ?? null]);
    let entry = entries.get(mapKey);
    if (!entry) {
      entry = {
        suite,
        id,
        repeat,
        outcome: null,
        metrics: { cpu: null, wall: null, memory: null, pids: null, io: null, disk: null },
        written: null,
        hosts: null,
      };
      entries.set(mapKey, entry);
    }
    const value = attrs.get('value') ?? '';
    if (suffix === 'status') {
      if (!(OUTCOMES as readonly string[]).includes(value))
        fail(`property ${name}: unknown status ${JSON.stringify(value)}`);
      entry.outcome = value as JobOutcome;
      continue;
    }
    // --network allow:…: watched (net.mode), and the hosts it reached and was refused, space-separated
    if (suffix.startsWith('net.')) {
      entry.hosts = [
        ...(entry.hosts ?? []),
        ...(suffix === 'net.mode' ? [] : value.split(' ').filter(Boolean)),
      ];
      continue;
    }
    const metric = FIGURES[suffix];
    const storage = suffix === 'io.read_bytes' || suffix === 'io.write_bytes';
    const written = suffix === 'fs.changes';
    if (metric === undefined && !storage && !written) continue;
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < 0)
      fail(`property ${name}: expected a number, got ${JSON.stringify(value)}`);
    // the io figure is what the JSON's storageBytes gives: read and written bytes together
    if (written) entry.written = number;
    else if (storage) entry.metrics.io = (entry.metrics.io ?? 0) + number;
    else if (metric) entry.metrics[metric] = number;
  }
  if (entries.size === 0) fail('no ringfence.* properties (a JUnit report not written by ringfence?)');

  const byRepeat = new Map<number | undefined, Sample[]>();
  for (const e of entries.values()) {
    if (e.outcome === null)
      fail(`no ringfence.${e.id}${e.repeat === undefined ? '' : `#${e.repeat}`}.status property`);
    const sample: Sample = {
      suite: e.suite,
      id: e.id,
      outcome: e.outcome ?? 'passed',
      metrics: e.metrics,
      written: e.written,
      writtenPaths: [],
      hosts: e.hosts,
    };
    const list = byRepeat.get(e.repeat);
    if (list) list.push(sample);
    else byRepeat.set(e.repeat, [sample]);
  }
  return runsOf(byRepeat, file);
}
