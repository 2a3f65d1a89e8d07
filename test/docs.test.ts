// The documentation holds together: the README stays a front page (≤ 300 lines) that links every
// page in docs/, and every relative link in the README and docs/ leads to a file that exists (and,
// into a Markdown page, to a heading that exists).
import fs from 'node:fs';
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
