// `ringfence doctor`: one line per capability with ok/missing and the fix; exit 0 when `run` works.
import type { Command } from 'commander';
import { runChecks } from '../doctor.js';

export function doctorCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('check what this host supports, with the fix for whatever is missing')
    .option('--cgroup-parent <path>', 'check beneath this delegated cgroup (also RINGFENCE_CGROUP_PARENT)')
    .action(async (flags: { cgroupParent?: string }) => {
      const checks = await runChecks(flags.cgroupParent ? { cgroupParent: flags.cgroupParent } : {});
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const check of checks) {
        const mark = check.ok ? 'ok     ' : check.required ? 'MISSING' : 'warn   ';
        const fix = check.ok || !check.fix ? '' : ` — fix: ${check.fix}`;
        process.stdout.write(`${mark}  ${check.name.padEnd(width)}  ${check.detail}${fix}\n`);
      }
      const works = checks.every((c) => c.ok || !c.required);
      process.stdout.write(
        works
          ? '\nringfence run works on this host.\n'
          : '\nringfence run cannot work here until the MISSING items are fixed.\n',
      );
      setExit(works ? 0 : 1);
    });
}
