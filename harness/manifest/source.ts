// Where things are in a manifest's text: YAML or JSON parsed into plain data, with a Source that finds
// the line of any value by its path, so that every refusal of loadManifest (load.ts) can name its
// line. Parse errors become ManifestError with the parser's own line.
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  LineCounter,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Node,
} from '../vendor/yaml.js';
import { ManifestError } from './types.js';

/** A step of a path into the document: a map key or a list index. */
export type PathKey = string | number;

type ParsedDocument = ReturnType<typeof parseDocument>;

/** Finds the line of a value (or of its key) by its path; knows nothing when the text was not YAML-parsed. */
export class Source {
  constructor(
    readonly file: string,
    private readonly doc?: ParsedDocument,
    private readonly lines?: LineCounter,
  ) {}

  /** The line of the node at `at` (or of the deepest ancestor found). */
  line(at: readonly PathKey[], which: 'value' | 'key' = 'value'): number | undefined {
    const found = this.walk(at);
    const node = which === 'key' ? (found.key ?? found.value) : found.value;
    const offset = node?.range?.[0];
    return offset === undefined || !this.lines ? undefined : this.lines.linePos(offset).line;
  }

  /** The keys of the map at `at` in file order (JS objects put integer-like keys first). */
  keys(at: readonly PathKey[]): string[] | undefined {
    const node = this.walk(at).value;
    return isMap(node) ? node.items.map((pair) => keyText(pair.key)) : undefined;
  }

  private walk(at: readonly PathKey[]): { value?: Node; key?: Node } {
    if (!this.doc) return {};
    let current: unknown = this.doc.contents;
    let found: { value?: Node; key?: Node } = isNode(current) ? { value: current } : {};
    for (const step of at) {
      if (isAlias(current)) current = current.resolve(this.doc);
      if (isMap(current)) {
        const pair = current.items.find((item) => keyText(item.key) === String(step));
        if (!pair) break;
        const key = isNode(pair.key) ? pair.key : undefined;
        found = { key, value: isNode(pair.value) && pair.value.range ? pair.value : key };
        current = pair.value;
      } else if (isSeq(current) && typeof step === 'number') {
        const item: unknown = current.items[step];
        if (!isNode(item)) break;
        found = { value: item };
        current = item;
      } else break;
    }
    return found;
  }
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

export function errnoText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const what = /^[A-Z0-9_]+: ([^,]+)/.exec(message)?.[1];
  return code ? `${code}${what ? ` (${what})` : ''}` : String(message);
}

function yamlError(file: string, doc: ParsedDocument, lines: LineCounter): ManifestError | undefined {
  const error = doc.errors[0];
  if (!error) return undefined;
  const first = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
  const pos = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
  return new ManifestError(
    file,
    `invalid YAML: ${first} (column ${pos.col})`,
    undefined,
    undefined,
    pos.line,
  );
}

function parseYaml(file: string, text: string): { data: unknown; source: Source } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, merge: true, uniqueKeys: true });
  const error = yamlError(file, doc, lines);
  if (error) throw error;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // toJS throws, rather than listing in doc.errors, for an alias whose anchor is not set before it
    // (`*x`) and for aliases expanding past maxAliasCount (a "billion laughs" document)
    const reason = `invalid YAML: ${cause instanceof Error ? cause.message : String(cause)}`;
    throw new ManifestError(file, reason, undefined, undefined, aliasLine(doc, lines) ?? 1);
  }
  return { data, source: new Source(file, doc, lines) };
}

/** The line of the first alias without its anchor, else of the first alias at all. */
function aliasLine(doc: ParsedDocument, lines: LineCounter): number | undefined {
  let first: number | undefined;
  let unresolved: number | undefined;
  visit(doc, {
    Alias: (_key, node) => {
      const offset = node.range?.[0];
      const line = offset === undefined ? undefined : lines.linePos(offset).line;
      first ??= line;
      if (node.resolve(doc) === undefined) {
        unresolved = line;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return unresolved ?? first;
}

function parseJson(file: string, text: string): { data: unknown; source: Source } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message.replace(/\s+/g, ' ');
    const given = /at position (\d+)/.exec(message)?.[1];
    const position = given === undefined ? jsonErrorOffset(text) : Number(given);
    const line = position === undefined ? undefined : text.slice(0, position).split('\n').length;
    const reason = `invalid JSON: ${message.replace(/(?: in JSON)? at position \d+.*$/, '')}`;
    throw new ManifestError(file, reason, undefined, undefined, line);
  }
  // JSON is YAML: parse it again as YAML for line numbers, when both parsers agree on the value
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const agree = doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), data);
  return { data, source: agree ? new Source(file, doc, lines) : new Source(file) };
}

/** Where strict JSON first goes wrong (V8 does not always say): a small recursive-descent scan. */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const token = (pattern: RegExp): boolean => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) return false;
    i = pattern.lastIndex;
    return true;
  };
  const space = () => token(/[ \t\n\r]*/y);
  const expect = (char: string) => {
    space();
    if (text[i] !== char) throw i;
    i++;
  };
  const value = (): void => {
    space();
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (open === '{') {
          space();
          if (!token(STRING)) throw i;
          expect(':');
        }
        value();
        space();
        if (text[i] === close) {
          i++;
          return;
        }
        expect(',');
      }
    }
    if (!token(STRING) && !token(/-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y)) throw i;
  };
  try {
    value();
    space();
    return i < text.length ? i : undefined;
  } catch (offset) {
    return typeof offset === 'number' ? offset : undefined;
  }
}

// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

export function parseText(file: string, text: string): { data: unknown; source: Source } {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.json') return parseJson(file, text);
  if (extension === '.yml' || extension === '.yaml') return parseYaml(file, text);
  try {
    JSON.parse(text);
  } catch {
    return parseYaml(file, text);
  }
  return parseJson(file, text);
}
