/*
 * selftest.h — `ringfence-launcher --self-test`: does this binary run on this machine?
 *
 * The install step (native/build.mjs) runs it on a prebuilt launcher before trusting it, and the
 * packaging test runs the arm64 one under qemu-aarch64-static: a binary for the wrong architecture,
 * or one the C library or kernel cannot start, fails here instead of on the first job.
 */
#ifndef RINGFENCE_SELFTEST_H
#define RINGFENCE_SELFTEST_H

/* Prints one line ("ringfence-launcher: self-test ok (ARCH)") and returns 0, or says what failed and returns 1. */
int selftest_main(void);

#endif
