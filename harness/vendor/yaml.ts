// yaml, as the harness uses it. The build replaces this module's output with a one-file bundle of yaml
// (scripts/bundle-vendor.mjs), for the same reason as ./zod.ts: one file to load instead of ~70.
export { LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit } from 'yaml';
export type { Node } from 'yaml';
