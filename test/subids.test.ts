// Reading /etc/subuid and /etc/subgid (harness/services/subids.ts): the range a rootless service set
// maps for an id other than root inside. Parsing only; the mapping itself runs in the v2 guest
// (test/v2/scenarios.guest.ts, systemd-user: the Postgres of fixtures/services.yml).
import { expect, it } from 'vitest';
import { parseSubidFile } from '../harness/services/subids.js';

it('finds the user by name or by id, the first valid line, the count capped at 65536', () => {
  const text = 'other:200000:65536\n\nrfuser:x:65536\nrfuser:100000:1000000\n1000:300000:10\n';
  expect(parseSubidFile(text, 'rfuser', 1000)).toEqual({ start: 100000, count: 65536 });
  expect(parseSubidFile(text, 'nobody-here', 1000)).toEqual({ start: 300000, count: 10 });
  expect(parseSubidFile(text, 'nobody-here', 1001)).toBeNull();
  expect(parseSubidFile('', 'rfuser', 1000)).toBeNull();
  expect(parseSubidFile('rfuser:0:65536\nrfuser:100000:0\n', 'rfuser', 1000)).toBeNull();
});
