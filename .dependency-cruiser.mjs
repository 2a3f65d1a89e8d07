// The import checks of `npm run lint` (dependency-cruiser): no cycles, and reporters/ take only
// types from the harness (docs/design.md). Modules form layers: a module and
// what it imports can be read, tested and loaded on their own, and services sit above the one job
// path instead of inside it. Type-only imports count too (tsPreCompilationDeps): a cycle through
// types is still two modules that cannot be understood apart, and the next value import makes it
// a cycle at load time.
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: move what both sides need into a module beneath them, or invert the call',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'reporters-read-types-only',
      comment:
        'reporters/ read and write results: from harness/ they take types only (and its vendored libraries), so a report never runs the harness',
      severity: 'error',
      from: { path: '^reporters/' },
      to: { path: '^harness/', pathNot: '^harness/vendor/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^(dist|node_modules|native/build|coverage|bench/tmp|fixtures|\\.device)/' },
    tsPreCompilationDeps: true,
    // resolves the sources' './x.js' to './x.ts' as tsc does (module NodeNext)
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
