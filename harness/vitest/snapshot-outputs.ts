// What a test file's sandbox may write back to the project (harness/fs/writeback.ts): the files
// Vitest itself writes for it from the worker — its snapshot file, where Vitest's own resolver
// (`resolveSnapshotPath` included) puts it, and its `toMatchFileSnapshot` targets. The targets are
// read from the test file's source as the host has it, which no sandbox can change: each literal
// `toMatchFileSnapshot('…')` argument, resolved against the file's directory as Vitest resolves it.
// A computed argument is not seen (its target is then discarded and reported, or listed in the pool's
// `writable`). A snapshot file is written back only when it is pure data (snap-format.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { Vet } from '../fs/writeback.js';
import { snapFileProblem } from './snap-format.js';

/** The literal targets of `toMatchFileSnapshot` in a test file's source, resolved (absolute). */
export function fileSnapshotTargets(source: string, testFile: string): string[] {
  const found = new Set<string>();
  const call = /\.toMatchFileSnapshot\(\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$]*)`)\s*[,)]/g;
  for (const m of source.matchAll(call)) {
    const raw = m[1] ?? m[2] ?? m[3];
    if (!raw) continue;
    found.add(path.isAbsolute(raw) ? path.normalize(raw) : path.resolve(path.dirname(testFile), raw));
  }
  return [...found];
}

export interface SnapshotResolver {
  /** Vitest's snapshot path of a test file (its SnapshotManager's resolvePath). */
  snapshotPath(testFile: string): string;
  /** The directories a target may lie in: the project's root and the workdir. */
  roots: readonly string[];
}

/**
 * The derived outputs of the test files a sandbox ran: each one's snapshot file and literal
 * `toMatchFileSnapshot` targets inside the project; and the vet that lets a snapshot file through
 * only when it is data.
 */
export function snapshotOutputs(
  files: Iterable<string>,
  resolver: SnapshotResolver,
): { paths: string[]; vet: Vet } {
  const snapshots = new Set<string>();
  const paths: string[] = [];
  for (const file of files) {
    try {
      const snap = path.resolve(resolver.snapshotPath(file));
      snapshots.add(snap);
      paths.push(snap);
    } catch {
      // a resolver that throws: that file's snapshot is discarded, and reported
    }
    let source: string;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const target of fileSnapshotTargets(source, file))
      if (resolver.roots.some((root) => target.startsWith(`${root}/`))) paths.push(target);
  }
  const vet: Vet = (hostPath, upperFile) => {
    if (!snapshots.has(hostPath)) return null;
    let text: string;
    try {
      text = fs.readFileSync(upperFile, 'utf8');
    } catch (error) {
      return `unreadable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
    return snapFileProblem(text);
  };
  return { paths, vet };
}
