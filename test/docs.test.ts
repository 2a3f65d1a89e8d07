// The documentation holds together: the README stays a front page (≤ 300 lines) that links every
// page in docs/, every relative link in the README and docs/ leads to a file that exists (and, into
// a Markdown page, to a heading that exists), and the reliability figures are written as tables.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const pages = fs
  .readdirSync(DOCS)
  .filter((name) => name.endsWith('.md'))
  .sort();
const documents = [README, ...pages.map((name) => path.join(DOCS, name))];

// Pages another change is adding at the same time: a link to one may dangle until that change lands.
const PAGES_IN_FLIGHT = new Set(['docs/project-files.md']);

/** The text outside fenced code blocks, line by line (a `#` or `[x](y)` in code is not Markdown). */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** Relative link targets in a Markdown file: `[text](target)`, outside code. */
function relativeLinks(file: string): string[] {
  const prose = proseLines(fs.readFileSync(file, 'utf8'))
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** GitHub's anchor for each heading of a Markdown file (github-slugger's rule, duplicates numbered). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(fs.readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string)
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*_]{1,2}(?=\S)|(?<=\S)[`*_]{1,2}/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('the README and docs/', () => {
  it('keeps the README a front page of at most 300 lines', () => {
    const lines = fs.readFileSync(README, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    expect(lines.length).toBeLessThanOrEqual(300);
  });

  it('links every page in docs/ from the README', () => {
    const linked = new Set(
      relativeLinks(README).map((target) => path.join(ROOT, target.split('#')[0] as string)),
    );
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((name) => !linked.has(path.join(DOCS, name)))).toEqual([]);
  });

  it('has every relative link lead to a file, and a Markdown anchor to a heading, that exist', () => {
    const broken: string[] = [];
    for (const file of documents) {
      for (const target of relativeLinks(file)) {
        const [where = '', anchor] = target.split('#');
        const resolved = where === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(where));
        const shown = `${path.relative(ROOT, file)}: ${target}`;
        if (!fs.existsSync(resolved)) {
          if (!PAGES_IN_FLIGHT.has(path.relative(ROOT, resolved))) broken.push(`${shown} (no such file)`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
          broken.push(`${shown} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('starts every docs page with a title and one line saying what it holds', () => {
    for (const name of pages) {
      const [title, blank, what] = fs.readFileSync(path.join(DOCS, name), 'utf8').split('\n');
      expect(title, name).toMatch(/^# \S/);
      expect(blank, name).toBe('');
      expect(what, name).toMatch(/^\S/);
    }
  });
});

describe('the reliability figures (scripts/reliability-docs.mjs)', () => {
  const MARKERS = /<!-- reliability:start -->\n([\s\S]*?)<!-- reliability:end -->/;

  it('are in docs/security.md as tables, with no line a reader must scroll', () => {
    const block = MARKERS.exec(fs.readFileSync(path.join(DOCS, 'security.md'), 'utf8'))?.[1];
    expect(block).toBeDefined();
    const lines = (block as string).split('\n').filter(Boolean);
    expect(lines.filter((line) => line.startsWith('| ')).length).toBeGreaterThan(lines.length / 2);
    expect(lines.filter((line) => line.length > 200)).toEqual([]);
  });

  it('are written from the suite records as one table row per attack and fault', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-docs-'));
    try {
      const records = [
        { kind: 'attack', name: 'setns | into host namespaces', verdict: 'contained', count: 1 },
        { kind: 'attack', name: 'kill -9 -1', verdict: 'contained', count: 1 },
        { kind: 'attack', name: 'unshare via int 0x80', verdict: 'impossible', count: 1, why: 'no IA32' },
        { kind: 'fault', name: 'two harnesses at once', verdict: 'survived', count: 1 },
      ];
      const summary = {
        attacks: { tried: 2, contained: 2, impossible: 1 },
        faults: { injected: 1, survived: 1, impossible: 0 },
        badInputs: { tried: 40, refused: 40 },
        leftovers: { checks: 3, found: 0 },
      };
      const json = path.join(dir, 'reliability.json');
      fs.writeFileSync(json, JSON.stringify({ date: '2030-01-02', host: 'a test host', summary, records }));
      const page = path.join(dir, 'page.md');
      fs.writeFileSync(
        page,
        '# Page\n\nbefore\n\n<!-- reliability:start -->\nold\n<!-- reliability:end -->\n\nafter\n',
      );
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'reliability-docs.mjs'), json, page]);
      const text = fs.readFileSync(page, 'utf8');
      expect(text.startsWith('# Page\n\nbefore\n\n<!-- reliability:start -->\n')).toBe(true);
      expect(text.endsWith('<!-- reliability:end -->\n\nafter\n')).toBe(true);
      expect(text).not.toContain('\nold\n');
      const rows = text.split('\n').filter((line) => line.startsWith('| '));
      expect(rows).toEqual(
        expect.arrayContaining([
          '| attacks from inside a job (contained: the host unchanged) | 2 | 2 |',
          '| bad inputs (clearly refused: field named, documented exit) | 40 | 40 |',
          '| kill -9 -1 | contained |',
          '| setns \\| into host namespaces | contained |',
          '| unshare via int 0x80 | impossible here: no IA32 |',
          '| two harnesses at once | survived |',
        ]),
      );
      expect(text).toContain('(`npm run reliability`, 2030-01-02, a test host)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
