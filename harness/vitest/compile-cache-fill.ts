// The compile cache's filler (compile-cache.ts), a host Node process with NODE_COMPILE_CACHE set:
// it loads Vitest's worker entry, as a worker's start does, and the modules of Vitest's own that every
// test file imports next, writes V8's code for what they compiled, and exits before the worker would
// wait for a test file.
import nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';

const modules = process.argv.slice(2);
if (modules.length === 0) throw new Error('usage: compile-cache-fill.js MODULE...');
for (const module of modules) await import(pathToFileURL(module).href);
(nodeModule as unknown as { flushCompileCache(): void }).flushCompileCache();
process.exit(0);
