// The reliability figures (issue 6): every hostile job, injected fault and bad input that a test tries
// is recorded here, and the suite's global teardown prints the totals. Test files run in separate
// Vitest workers, so each record is one appended JSON line in a file the global setup names and
// hands to every worker through Vitest's provide/inject.
import fs from 'node:fs';
import { expect, inject } from 'vitest';
import { NO_LEFTOVERS, leftovers, type Leftovers } from './sandbox.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ringfenceTallyFile: string;
  }
}

/**
 * attack: a hostile job; contained = it did not reach the host. fault: something broken on purpose;
 * survived = the harness went on and cleaned up. badInput: refused = clear error naming the field.
 * impossible: the kernel or this machine makes the attempt impossible (counted apart, with why).
 * leftovers: one record per leftovers check, with how many things it found.
 */
export type TallyKind = 'attack' | 'fault' | 'badInput' | 'leftovers';
export type TallyVerdict = 'contained' | 'survived' | 'refused' | 'impossible' | 'failed' | 'checked';

export interface TallyRecord {
  kind: TallyKind;
  name: string;
  verdict: TallyVerdict;
  /** bad inputs tried in one property test; leftovers found in one check */
  count: number;
  why?: string;
}

function tallyFile(): string | undefined {
  try {
    return inject('ringfenceTallyFile');
  } catch {
    return undefined; // outside a Vitest run with the global setup (e.g. a file run on its own config)
  }
}

export function record(entry: TallyRecord): void {
  const file = tallyFile();
  if (file) fs.appendFileSync(file, JSON.stringify(entry) + '\n');
}

/**
 * Records an attempt, then asserts its verdict: call it where the attack's containment has just been
 * checked (expectations before it passed) with 'contained'; a failing expectation before it means the
 * record is never written as contained, and the test fails anyway.
 */
export function attack(name: string, verdict: 'contained' | 'impossible', why?: string): void {
  record({ kind: 'attack', name, verdict, count: 1, why });
}

export function fault(name: string, verdict: 'survived' | 'impossible', why?: string): void {
  record({ kind: 'fault', name, verdict, count: 1, why });
}

/** `tried` bad inputs (e.g. fast-check runs), all of them refused with a clear error. */
export function badInputs(name: string, tried: number): void {
  record({ kind: 'badInput', name, verdict: 'refused', count: tried });
}

/** The leftovers check every sandbox test ends with, counted: asserts that nothing was left. */
export async function expectNoLeftovers(options: { strict?: boolean } = {}): Promise<void> {
  const found: Leftovers = await leftovers(options);
  const count = Object.values(found).reduce((n, list: unknown[]) => n + list.length, 0);
  record({ kind: 'leftovers', name: 'check', verdict: 'checked', count });
  expect(found).toEqual(NO_LEFTOVERS);
}

export interface TallySummary {
  attacks: { tried: number; contained: number; impossible: number };
  faults: { injected: number; survived: number; impossible: number };
  badInputs: { tried: number; refused: number };
  leftovers: { checks: number; found: number };
}

export function summarize(records: TallyRecord[]): TallySummary {
  const of = (kind: TallyKind, verdict?: TallyVerdict): number =>
    records
      .filter((r) => r.kind === kind && (verdict === undefined || r.verdict === verdict))
      .reduce((n, r) => n + r.count, 0);
  const attempted = (kind: TallyKind): number => of(kind) - of(kind, 'impossible');
  return {
    attacks: {
      tried: attempted('attack'),
      contained: of('attack', 'contained'),
      impossible: of('attack', 'impossible'),
    },
    faults: {
      injected: attempted('fault'),
      survived: of('fault', 'survived'),
      impossible: of('fault', 'impossible'),
    },
    badInputs: { tried: of('badInput'), refused: of('badInput', 'refused') },
    leftovers: { checks: records.filter((r) => r.kind === 'leftovers').length, found: of('leftovers') },
  };
}

export function readTally(file: string): TallyRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TallyRecord);
}

export function formatSummary(s: TallySummary): string {
  return [
    `attacks tried ${s.attacks.tried}, contained ${s.attacks.contained}` +
      (s.attacks.impossible ? ` (${s.attacks.impossible} impossible to attempt here)` : ''),
    `faults injected ${s.faults.injected}, survived ${s.faults.survived}` +
      (s.faults.impossible ? ` (${s.faults.impossible} impossible here)` : ''),
    `bad inputs tried ${s.badInputs.tried}, clearly refused ${s.badInputs.refused}`,
    `leftovers found ${s.leftovers.found} (in ${s.leftovers.checks} checks)`,
  ].join('; ');
}
