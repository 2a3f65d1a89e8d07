import { describe, expect, it } from 'vitest';
import {
  InputError,
  parseCpus,
  parseCpuset,
  parseDuration,
  parseInteger,
  parseSize,
} from '../harness/job/units.js';

describe('parseSize (Docker syntax)', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64k', 65536],
    ['4096', 4096],
    ['100MiB', 100 * 1024 ** 2],
    ['2b', 2],
  ])('%s → %d bytes', (text, bytes) => {
    expect(parseSize('memory', text)).toBe(bytes);
  });

  it.each(['12zz', '', 'm', '-1m', '0', '1.2.3g', 'ten'])('refuses %j naming the field', (text) => {
    expect(() => parseSize('memory', text)).toThrow(InputError);
    expect(() => parseSize('memory', text)).toThrow(/^memory: /);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['10', 10_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration('timeout', text)).toBe(ms);
  });

  it.each(['5x', '0s', '', 's', '-1s'])('refuses %j', (text) => {
    expect(() => parseDuration('timeout', text)).toThrow(/^timeout: /);
  });
});

describe('parseCpus / parseInteger / parseCpuset', () => {
  it('takes decimals within the CPUs available, as Docker does', () => {
    expect(parseCpus('cpus', '0.5', 2)).toBe(0.5);
    expect(parseCpus('cpus', '2', 2)).toBe(2);
    expect(() => parseCpus('cpus', '3', 2)).toThrow(/range of CPUs is from 0.01 to 2.00/);
    expect(() => parseCpus('cpus', '0.001', 2)).toThrow(/cpus/);
    expect(() => parseCpus('cpus', 'half', 2)).toThrow(/invalid CPU count/);
  });

  it('bounds integers', () => {
    expect(parseInteger('pids-limit', '32', 3, 100)).toBe(32);
    expect(() => parseInteger('pids-limit', '2', 3, 100)).toThrow(/between 3 and 100/);
    expect(() => parseInteger('pids-limit', '3.5', 3, 100)).toThrow(/whole number/);
  });

  it('checks cpuset lists against the CPUs present', () => {
    expect(parseCpuset('cpuset-cpus', '0-1', 2)).toBe('0-1');
    expect(parseCpuset('cpuset-cpus', '0,1', 2)).toBe('0,1');
    expect(() => parseCpuset('cpuset-cpus', '0-4', 2)).toThrow(/CPU 4 does not exist/);
    expect(() => parseCpuset('cpuset-cpus', '1-0', 2)).toThrow(/invalid range/);
    expect(() => parseCpuset('cpuset-cpus', 'a', 2)).toThrow(/invalid CPU list/);
  });
});
