/**
 * docs/db.dbml from the Drizzle schema: drizzle-dbml-generator's pgGenerate, from the foreign
 * keys (`relational: false`: the schema declares foreign keys and no drizzle `relations()`, so
 * `relational: true` would draw no references at all), then three repairs where its text would
 * mislead: an expression index is shown on its expression (`lower(email)`, not `email`), a partial
 * index says its WHERE (one treasury per currency, not one account per currency), and each
 * table's CHECK constraints, which DBML has no settings for, are listed in the table's note.
 * The generator also leaves a blank, indented line per CHECK and foreign key in `indexes`; gone.
 */
import { pgGenerate } from "drizzle-dbml-generator";
import { Column, is, SQL, StringChunk } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import * as schema from "../../src/core/db/schema.ts";

const HEADER = [
  "// The tables of src/core/db/schema.ts, in DBML (https://dbml.dbdiagram.io/docs/).",
  "// Written by `bun run db:docs` (tools/db-docs); do not edit. The database itself, as the",
  "// migrations leave it: docs/schema.sql.",
  "",
  "Project simplebank {",
  "  database_type: 'PostgreSQL'",
  "  Note: 'Amounts and balances are integer minor units (cents). Each currency has one treasury account, owned by the system user bank.'",
  "}",
  "",
  "",
];

export function schemaDbml(): string {
  let dbml = pgGenerate({ schema, relational: false });
  dbml = dbml
    .split("\n")
    .filter((line) => line.trim() !== "" || line === "")
    .join("\n");

  for (const table of Object.values(schema).filter((value) => is(value, PgTable))) {
    const config = getTableConfig(table);
    for (const index of config.indexes) {
      const { name, columns, unique, where } = index.config;
      const expression = columns.some((column) => is(column, SQL));
      if (!name || (!expression && !where)) continue;
      const shown = columns.map((column) =>
        is(column, SQL) ? `\`${sqlText(column)}\`` : (column as Column).name,
      );
      const settings = [`name: '${name}'`, ...(unique ? ["unique"] : [])];
      if (where) settings.push(`note: ${dbmlString(`partial: only rows WHERE ${sqlText(where)}`)}`);
      const line = `    ${shown.length === 1 ? shown[0] : `(${shown.join(", ")})`} [${settings.join(", ")}]`;
      dbml = replaceLine(dbml, `[name: '${name}'`, line);
    }
    if (config.checks.length > 0) {
      const checks = [...config.checks]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((check) => `    ${check.name}: CHECK (${sqlText(check.value)})`);
      const note = ["", "  Note: '''", "    CHECK constraints:", ...checks, "  '''"].join("\n");
      const block = new RegExp(`((?:^|\\n)table ${config.name} \\{[\\s\\S]*?)\\n\\}`);
      if (!block.test(dbml))
        throw new Error(`db:docs: no table ${config.name} in the generated DBML`);
      dbml = dbml.replace(block, `$1\n${note}\n}`);
    }
  }
  return `${HEADER.join("\n")}${dbml.trimEnd()}\n`;
}

/** A drizzle SQL fragment as text, columns by their bare names (as inside one table). */
function sqlText(fragment: SQL): string {
  return fragment.queryChunks
    .map((chunk) => {
      if (is(chunk, StringChunk)) return chunk.value.join("");
      if (is(chunk, Column)) return chunk.name;
      if (is(chunk, SQL)) return sqlText(chunk);
      throw new Error(`db:docs: cannot show this part of a SQL fragment: ${String(chunk)}`);
    })
    .join("");
}

function dbmlString(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function replaceLine(text: string, marker: string, line: string): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.includes(marker));
  if (at < 0) throw new Error(`db:docs: no line with ${marker} in the generated DBML`);
  lines[at] = line;
  return lines.join("\n");
}
