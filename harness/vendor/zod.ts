// zod, as the harness uses it. The build replaces this module's output with a one-file bundle of zod
// (scripts/bundle-vendor.mjs): zod is 95 ES modules, and resolving them one by one slowed every
// `ringfence ci` start. The sources and the tests import it through here and get node_modules' zod.
import { z } from 'zod';

// The harness validates each document once (a manifest, a results file): zod's JIT, which compiles a
// parser per object shape with `new Function` on the first parse, costs more there than it saves.
z.config({ jitless: true });

export { z };
