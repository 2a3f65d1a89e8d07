// Whether a .snap file is only what Vitest writes: data. @vitest/snapshot reads a snapshot file by
// running it (`new Function('exports', content)`), in whatever process reads it next — a host run with
// `--pool forks` included — so a .snap a sandboxed test file wrote is code, and is written back to the
// project only when it has exactly Vitest's shape: an optional `//` header line, then entries
//   exports[`key`] = `value`;
// separated by whitespace, each template literal holding no substitution (`${` is written `\${`).
// Nothing else — no comment beyond the header, no other statement — can run then. A hand-written
// scanner, not a regular expression: linear on a file of any size, no backtracking limits.

/** Why `text` is not a snapshot file Vitest would write, or null when it is one. */
export function snapFileProblem(text: string): string | null {
  let i = 0;
  const n = text.length;
  // JavaScript's line terminators: a `//` comment ends at any of them, and what follows would run
  const lineEnd = (c: string): boolean => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';
  const space = (): void => {
    while (i < n && /\s/.test(text[i] ?? '')) i++;
  };
  const literal = (): boolean => {
    if (text[i] !== '`') return false;
    for (i++; i < n; i++) {
      const c = text[i];
      if (c === '\\')
        i++; // an escape: the next character is never a delimiter or a substitution
      else if (c === '`') {
        i++;
        return true;
      } else if (c === '$' && text[i + 1] === '{') return false;
    }
    return false;
  };
  const word = (w: string): boolean => {
    if (text.startsWith(w, i)) {
      i += w.length;
      return true;
    }
    return false;
  };
  if (text.startsWith('//')) {
    while (i < n && !lineEnd(text[i] ?? '')) i++;
    if (text[i] !== '\n') return 'its header line does not end with a newline';
  }
  for (space(); i < n; space()) {
    const at = i;
    const ok =
      word('exports[') &&
      literal() &&
      word(']') &&
      (space(), word('=')) &&
      (space(), literal()) &&
      (space(), word(';'));
    if (!ok)
      return `not a snapshot file Vitest writes (at offset ${at}: only exports[\`…\`] = \`…\`; entries)`;
  }
  return null;
}
