// doctor's overlay line, from what a trial job's result says of its filesystem (the shapes a host
// gives: every filesystem overlaid; / split in a user namespace; a filesystem overlayfs refused; no
// mount namespace at all). The real trial runs in test/cli.test.ts and in every v2 guest scenario.
import { describe, expect, it } from 'vitest';
import { overlayCheck } from '../harness/doctor.js';

describe('doctor: overlay (--fs overlay)', () => {
  it('ok when every writable filesystem was overlaid', () => {
    expect(overlayCheck({ mode: 'overlay', changes: [], truncated: 0 })).toMatchObject({
      ok: true,
      required: false,
    });
  });

  it('ok, naming the split, when / was overlaid directory by directory (a user namespace)', () => {
    const check = overlayCheck({
      mode: 'overlay',
      changes: [],
      truncated: 0,
      readOnly: [{ path: '/', code: 'EINVAL', dirsOverlaid: true }],
    });
    expect(check.ok).toBe(true);
    expect(check.detail).toMatch(/\/: each directory overlaid on its own/);
  });

  it('warns naming each refused mount and the fix', () => {
    const fuse = overlayCheck({
      mode: 'overlay',
      changes: [],
      truncated: 0,
      readOnly: [{ path: '/mnt/fuse', code: 'EINVAL' }],
    });
    expect(fuse).toMatchObject({ ok: false, required: false });
    expect(fuse.detail).toBe('bound read-only instead (writes there fail with EROFS): /mnt/fuse (EINVAL)');
    expect(fuse.fix).toMatch(/cannot be an overlay lower layer/);
    const old = overlayCheck({
      mode: 'overlay',
      changes: [],
      truncated: 0,
      readOnly: [{ path: '/', code: 'ENOSYS' }],
    });
    expect(old.fix).toMatch(/kernel ≥ 5\.11/);
  });

  it('warns that it is not applied where jobs get no mount namespace', () => {
    const none = overlayCheck({ mode: 'host', changes: null, truncated: 0 });
    expect(none).toMatchObject({ ok: false, required: false });
    expect(none.detail).toMatch(/not applied/);
    expect(none.fix).toMatch(/user\.max_user_namespaces/);
  });
});
