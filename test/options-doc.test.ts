// docs/options.md's option table is what the one declaration of job options (harness/job/options.ts)
// renders: a flag, manifest key, default or help text changed in one and not the other fails here.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_OPTIONS } from '../harness/job/options.js';
import { OPTIONS_DOC, renderOptionsTable, tableIn } from '../scripts/options-table.js';

describe('docs/options.md', () => {
  it('holds the table the declaration renders (else: npm run docs:options)', () => {
    const table = tableIn(fs.readFileSync(OPTIONS_DOC, 'utf8'));
    expect(
      table,
      'docs/options.md has no <!-- options:start --> … <!-- options:end --> markers',
    ).toBeDefined();
    expect(
      table,
      'docs/options.md differs from harness/job/options.ts: run `npm run docs:options` and commit the result',
    ).toBe(renderOptionsTable());
  });

  it('has a row for every declared option, with its flag and its doc (else its help)', () => {
    const rows = renderOptionsTable().split('\n').slice(2);
    expect(rows).toHaveLength(JOB_OPTIONS.length);
    JOB_OPTIONS.forEach((option, i) => {
      const text: string = 'doc' in option ? option.doc : option.help;
      expect(rows[i]).toContain(text.replaceAll('|', '\\|'));
      if ('cli' in option) expect(rows[i]).toContain(`--${option.flag}`);
    });
  });
});
