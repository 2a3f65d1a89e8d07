// The pure checks behind the Vitest pool's write-back (harness/vitest/snap-format.ts,
// harness/vitest/snapshot-outputs.ts): a .snap file is data only when it has exactly Vitest's shape,
// and a test file's toMatchFileSnapshot targets are its literal arguments.
import { describe, expect, it } from 'vitest';
import { snapFileProblem } from '../harness/vitest/snap-format.js';
import { fileSnapshotTargets } from '../harness/vitest/snapshot-outputs.js';

const HEADER = '// Vitest Snapshot v1, https://vitest.dev/guide/snapshot.html\n\n';

describe('a .snap file as Vitest writes it', () => {
  it('accepts entries whose template literals hold no substitution', () => {
    const text = `${HEADER}exports[\`a > b 1\`] = \`"x \\\${not} \\\` \\\\ $ {}"\`;\n\nexports[\`c 1\`] = \`
{
  "k": 1,
}
\`;\n`;
    expect(snapFileProblem(text)).toBeNull();
    expect(snapFileProblem(HEADER)).toBeNull();
    expect(snapFileProblem('')).toBeNull();
  });

  it.each([
    ['a substitution in a value', `${HEADER}exports[\`a 1\`] = \`\${require('child_process')}\`;\n`],
    ['a substitution in a key', `${HEADER}exports[\`\${x}\`] = \`v\`;\n`],
    ['another statement', `${HEADER}exports[\`a 1\`] = \`v\`;\nrequire('fs');\n`],
    ['a comment that goes on', `${HEADER}/* */exports[\`a 1\`] = \`v\`;\n`],
    ['a header ended by U+2028', `// Vitest\u2028require('fs')\n\nexports[\`a 1\`] = \`v\`;\n`],
    ['an unterminated literal', `${HEADER}exports[\`a 1\`] = \`v;\n`],
    ['a string literal', `${HEADER}exports["a 1"] = "v";\n`],
    ['a call instead of a literal', `${HEADER}exports[\`a 1\`] = String.raw\`v\`;\n`],
  ])('refuses %s', (_what, text) => {
    expect(snapFileProblem(text)).toMatch(/not a snapshot file Vitest writes|header line/);
  });
});

describe('toMatchFileSnapshot targets', () => {
  it('are the literal arguments, resolved against the test file', () => {
    const source = [
      "await expect(a).toMatchFileSnapshot('./out/x.txt');",
      'await expect(b).toMatchFileSnapshot("../shared/y.html", "hint");',
      'await expect(c).toMatchFileSnapshot(`z.json`);',
      'await expect(d).toMatchFileSnapshot(`${dir}/w.txt`);', // computed: not seen
      'await expect(e).toMatchFileSnapshot(name);',
      "await expect(f).toMatchFileSnapshot('/abs/v.txt');",
    ].join('\n');
    expect(fileSnapshotTargets(source, '/p/test/a.test.ts').sort()).toEqual(
      ['/p/test/out/x.txt', '/p/shared/y.html', '/p/test/z.json', '/abs/v.txt'].sort(),
    );
  });
});
