// `outputs`: what a job wrote in its workdir, seen through an overlay, reaches the host only here —
// after the job ended (every process of it gone) and before its scratch is removed. The pollution
// walk (pollution.ts) hands over each entry of the upper layer that is an output and not protected
// (outputs.ts); this applies them to the host, parents first:
//   - a regular file: its content and permission bits (& 0o777: never set-uid, set-gid or sticky; no
//     xattr, no owner — the harness's user writes it), into a temp file in the target's directory,
//     renamed over the target: the host never holds half a file;
//   - a directory: made (a new one), or the host's entries the job removed by replacing it (opaque)
//     deleted where they are outputs;
//   - a deletion (whiteout): the host's entry removed, a directory with what is below it;
//   - a symlink: never written back, reported — but for a capped workdir (rules.links), where it is
//     made as the link itself, as a writable workdir would have let the job make it;
//   - a FIFO, socket or device: never written back, reported.
// Every directory on the way from the layer's root down is checked with lstat and made here where
// missing: nothing is written through a symlink. A `vet` (the Vitest pool's check of a .snap file)
// may refuse a file by its content. Refusals are reasons, never exceptions: the job's result stands.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isWithin } from '../job/protect.js';
import type { FsChange } from '../job/result.js';
import { isOutput, protectedReason, type OutputRules } from './outputs.js';
import type { Claim, LayerEntry } from './upper.js';

/** Refuses a file by its content (null: fine): the path it goes to, the file in the upper layer. */
export type Vet = (hostPath: string, upperFile: string) => string | null;

export interface Refusal {
  path: string;
  reason: string;
}

/** Collects the walk's outputs (claim) and applies them afterwards (apply). */
export class WriteBack {
  private readonly entries: LayerEntry[] = [];
  readonly refused: Refusal[] = [];
  readonly written: FsChange[] = [];
  /** Changes refused while applying: they were not written back, so they are the report's too. */
  readonly discarded: FsChange[] = [];

  constructor(
    private readonly rules: OutputRules,
    private readonly vet: Vet | null = null,
  ) {}

  /** The walk's claim: an output that is not protected is taken, to be applied afterwards. */
  readonly claim: Claim = (entry) => {
    if (!isOutput(this.rules, entry.hostPath)) return false;
    const reason = protectedReason(this.rules, entry.hostPath);
    if (reason) {
      this.refused.push({ path: entry.path, reason });
      return false;
    }
    this.entries.push(entry);
    return true;
  };

  /** Applies every claimed entry to the host, parents first. Never throws. */
  apply(): void {
    const sorted = [...this.entries].sort((a, b) => (a.hostPath < b.hostPath ? -1 : 1));
    for (const entry of sorted) {
      let reason: string | null;
      try {
        reason = this.applyOne(entry);
      } catch (error) {
        const err = error as NodeJS.ErrnoException;
        reason = `could not be written back: ${err.code ?? err.message}`;
      }
      const change: FsChange = {
        path: entry.path,
        kind: entry.kind,
        bytes: entry.bytes,
        type: entry.type,
        ...(entry.replaced ? { replaced: true } : {}),
      };
      if (reason === null) this.written.push(change);
      else {
        this.refused.push({ path: entry.path, reason });
        this.discarded.push(change);
      }
    }
  }

  private applyOne(entry: LayerEntry): string | null {
    const target = entry.hostPath;
    const parentProblem = this.parents(entry.layerRoot, target, path.dirname(entry.upper));
    if (parentProblem) return parentProblem;
    const there = fs.lstatSync(target, { throwIfNoEntry: false });
    const st = entry.stat;
    if (entry.kind === 'deleted') {
      if (there?.isDirectory()) fs.rmSync(target, { recursive: true, force: true });
      else if (there) fs.unlinkSync(target);
      return null;
    }
    if (st.isSymbolicLink()) {
      if (!this.rules.links) return 'a symlink: never written back';
      // made beside the target and renamed over it: the link itself, never what it points to
      const temp = this.tempBeside(target);
      try {
        fs.symlinkSync(fs.readlinkSync(entry.upper), temp);
        if (there?.isDirectory()) fs.rmSync(target, { recursive: true, force: true });
        fs.renameSync(temp, target);
      } finally {
        fs.rmSync(temp, { force: true });
      }
      return null;
    }
    if (st.isFile()) {
      const vetoed = this.vet?.(target, entry.upper) ?? null;
      if (vetoed) return vetoed;
      const temp = this.tempBeside(target);
      try {
        // COPYFILE_EXCL: the temp name is made here, never an existing entry (nor a link) written through
        fs.copyFileSync(entry.upper, temp, fs.constants.COPYFILE_EXCL);
        fs.chmodSync(temp, st.mode & 0o777);
        if (there?.isDirectory()) fs.rmSync(target, { recursive: true, force: true });
        fs.renameSync(temp, target);
      } finally {
        fs.rmSync(temp, { force: true });
      }
      return null;
    }
    if (st.isDirectory()) {
      if (there && !there.isDirectory()) fs.unlinkSync(target);
      if (!there?.isDirectory()) fs.mkdirSync(target, { mode: (st.mode & 0o777) | 0o700 });
      if (entry.replaced) this.removeReplaced(target, entry.upper);
      return null;
    }
    return 'a FIFO, socket or device: never written back';
  }

  /** A fresh name in the target's directory, for a file or link renamed over the target. */
  private tempBeside(target: string): string {
    const name = `.${path.basename(target).slice(0, 200)}.ringfence-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    return path.join(path.dirname(target), name);
  }

  /**
   * Checks (lstat) every directory between the layer's root and `target`, making the missing ones
   * with their modes in the upper layer. A reason when one is a symlink or not a directory.
   */
  private parents(root: string, target: string, upperParent: string): string | null {
    const base =
      isWithin(target, this.rules.workdir) && isWithin(this.rules.workdir, root) ? this.rules.workdir : root;
    const rel = path.relative(base, path.dirname(target));
    if (rel === '') return null;
    const parts = rel.split(path.sep);
    let dir = base;
    for (let i = 0; i < parts.length; i++) {
      dir = path.join(dir, parts[i] ?? '');
      const st = fs.lstatSync(dir, { throwIfNoEntry: false });
      if (st === undefined) {
        // its mode as the job left it: the same directory in the upper layer, as many levels up
        const up = parts.length - 1 - i;
        let upperDir = upperParent;
        for (let n = 0; n < up; n++) upperDir = path.dirname(upperDir);
        const mode = fs.lstatSync(upperDir, { throwIfNoEntry: false })?.mode ?? 0o755;
        fs.mkdirSync(dir, { mode: (mode & 0o777) | 0o700 });
      } else if (!st.isDirectory()) {
        return `${path.relative(this.rules.workdir, dir) || dir} on the host is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}: not followed`;
      }
    }
    return null;
  }

  /** A directory the job replaced: the host's entries it no longer has go, where they are outputs. */
  private removeReplaced(target: string, upper: string): void {
    const kept = new Set(fs.readdirSync(upper));
    for (const name of fs.readdirSync(target)) {
      if (kept.has(name)) continue;
      const host = path.join(target, name);
      if (!isOutput(this.rules, host) || protectedReason(this.rules, host)) continue;
      fs.rmSync(host, { recursive: true, force: true });
    }
  }
}
