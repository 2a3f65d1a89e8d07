// The files an attack on the harness aims at (harness/job/protect.ts, native/sealed.ts), and a snapshot of
// their content to prove afterwards that nothing changed on the host.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/sandbox.js';

export const LAUNCHER = path.join(ROOT, 'native', 'build', 'ringfence-launcher');
export const SPAWN_LIB = path.join(ROOT, 'native', 'build', 'libringfence-spawn.so');
export const KOFFI_NODE = path.join(
  ROOT,
  'node_modules',
  'koffi',
  'build',
  'koffi',
  `linux_${process.arch}`,
  'koffi.node',
);
export const RINGFENCE_JS = path.join(ROOT, 'dist', 'harness', 'index.js');
export const PISCINA_JS = path.join(ROOT, 'node_modules', 'piscina', 'dist', 'main.js');

/** Label → path, as fixtures/adversarial/tamper.js takes them. */
export function tamperTargets(root = ROOT): Record<string, string> {
  const at = (p: string): string => path.join(root, path.relative(ROOT, p));
  return {
    'rename:launcher': at(LAUNCHER),
    'truncate:launcher': at(LAUNCHER),
    'inplace:spawn-library': at(SPAWN_LIB),
    'inplace:koffi-node': at(KOFFI_NODE),
    'append:ringfence-js': at(RINGFENCE_JS),
    'append:piscina-js': at(PISCINA_JS),
    'move-dir:dist': at(path.join(ROOT, 'dist')),
    'create-in:native-build': at(path.dirname(LAUNCHER)),
    'chmod:node': fs.realpathSync(process.execPath),
  };
}

/** sha256 of every file the attacks aim at (and the list of native/build), to compare after. */
export function snapshot(): Record<string, string> {
  const files = [
    LAUNCHER,
    SPAWN_LIB,
    KOFFI_NODE,
    RINGFENCE_JS,
    PISCINA_JS,
    fs.realpathSync(process.execPath),
  ];
  const out: Record<string, string> = {};
  for (const file of files) out[file] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  out['native/build'] = fs.readdirSync(path.dirname(LAUNCHER)).sort().join(',');
  out.dist = fs.readdirSync(path.join(ROOT, 'dist')).sort().join(',');
  return out;
}

/**
 * What the kernel answers a change to a protected path: a read-only mount, or a busy mount point —
 * never ETXTBSY, which a running binary gives unprotected too.
 */
export const REFUSED = /^(EROFS|EBUSY)$/;
