/**
 * `bun run db:docs [--out <folder>]`: writes db.dbml and schema.sql into docs/ (or <folder>).
 * The schema comes from a throwaway database on TEST_DATABASE_URL's (or DATABASE_URL's)
 * server, or on an embedded PostgreSQL when neither is set; see docs.ts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { DOCS_FILES, renderDbDocs } from "./docs.ts";

const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = path.resolve(values.out ?? path.join(import.meta.dir, "../../docs"));

const { files, database } = await renderDbDocs();
await mkdir(outDir, { recursive: true });
for (const name of DOCS_FILES) await writeFile(path.join(outDir, name), files[name]);
const relative = path.relative(process.cwd(), outDir);
const shown = relative.startsWith("..") ? outDir : relative || ".";
console.log(
  `db:docs: wrote ${DOCS_FILES.map((name) => path.join(shown, name)).join(" and ")} ` +
    `(schema from a throwaway database on the ${database.source} PostgreSQL, ${database.serverVersion})`,
);
