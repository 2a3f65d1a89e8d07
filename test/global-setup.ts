// Runs once around the whole suite: refuses to start a required-sandbox run on a host that cannot
// sandbox, hands every test worker the file the reliability figures are appended to, and fails the
// run if anything ringfence made is still on the machine at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { NO_LEFTOVERS, leftovers, sandboxUnavailable } from './support/sandbox.js';
import { formatSummary, readTally, summarize } from './support/tally.js';

let tallyDir: string | undefined;
let tallyFile = '';

export function setup(project: TestProject): void {
  const why = sandboxUnavailable();
  if (why && process.env.RINGFENCE_REQUIRE_SANDBOX === '1') {
    throw new Error(`RINGFENCE_REQUIRE_SANDBOX=1 but the sandbox cannot run here: ${why}`);
  }
  tallyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tally-'));
  tallyFile = path.join(tallyDir, 'tally.jsonl');
  project.provide('ringfenceTallyFile', tallyFile);
}

export async function teardown(): Promise<void> {
  try {
    if (sandboxUnavailable()) return;
    const found = await leftovers({ strict: true });
    const count = Object.values(found).reduce((n, list: unknown[]) => n + list.length, 0);
    const records = readTally(tallyFile);
    records.push({ kind: 'leftovers', name: 'suite teardown', verdict: 'checked', count });
    if (records.some((r) => r.kind !== 'leftovers')) {
      console.log(`\nringfence reliability: ${formatSummary(summarize(records))}\n`);
    }
    // `npm run reliability` asks for the figures to put them in docs/security.md
    const out = process.env.RINGFENCE_RELIABILITY_OUT;
    if (out) fs.writeFileSync(out, JSON.stringify({ summary: summarize(records), records }, null, 2));
    if (JSON.stringify(found) !== JSON.stringify(NO_LEFTOVERS)) {
      throw new Error(`ringfence left things behind after the suite: ${JSON.stringify(found, null, 2)}`);
    }
  } finally {
    if (tallyDir) fs.rmSync(tallyDir, { recursive: true, force: true });
  }
}
