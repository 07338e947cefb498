/** `bun run build:edge`: bundles the Worker into dist/edge and prints its size. */
import { buildBundle, kib } from "./bundle.ts";

const bundle = await buildBundle();
console.log(`Worker bundle in ${bundle.dir}: ${bundle.modules.length} modules`);
for (const module of bundle.modules) {
  console.log(`  ${module.path} (${module.type}) ${kib(Buffer.byteLength(module.contents))}`);
}
console.log(`size: ${kib(bundle.bytes)} raw, ${kib(bundle.gzipBytes)} gzipped`);
