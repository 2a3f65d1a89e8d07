// Runs once around the whole suite: refuses to start a required-sandbox run on a host that cannot
// sandbox, and fails the run if anything ringfence made is still on the machine at the end.
import { NO_LEFTOVERS, leftovers, sandboxUnavailable } from './support/sandbox.js';

export function setup(): void {
  const why = sandboxUnavailable();
  if (why && process.env.RINGFENCE_REQUIRE_SANDBOX === '1') {
    throw new Error(`RINGFENCE_REQUIRE_SANDBOX=1 but the sandbox cannot run here: ${why}`);
  }
}

export async function teardown(): Promise<void> {
  if (sandboxUnavailable()) return;
  const found = await leftovers({ strict: true });
  if (JSON.stringify(found) !== JSON.stringify(NO_LEFTOVERS)) {
    throw new Error(`ringfence left things behind after the suite: ${JSON.stringify(found, null, 2)}`);
  }
}
