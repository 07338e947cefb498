import fc from "fast-check";
import type { Operation, Parameter, Schema } from "./openapi.ts";
import { ACTOR_NAMES, type ActorName, type Pools, UNKNOWN } from "./world.ts";

/**
 * fast-check arbitraries for one operation's requests, from its OpenAPI description: values
 * that follow the schema (ids and names drawn from the world's pools, so requests reach real
 * rows), and mutations of them: wrong types, out-of-range and non-finite numbers written raw,
 * unicode, oversized values, deep nesting, duplicate keys, missing and extra fields, malformed
 * JSON, other content types, and every shape of Authorization header.
 */

/** `{{refresh:alice}}` in a body: alice's current refresh token, filled in when sent. */
const REFRESH = "{{refresh:";
const REFRESH_PLACEHOLDER = /\{\{refresh:(\w+)\}\}/g;

/** The body with each `{{refresh:<actor>}}` replaced by that actor's refresh token now. */
export function withRefreshTokens(body: string, tokenOf: (actor: ActorName) => string): string {
  return body.replace(REFRESH_PLACEHOLDER, (_, name: string) => tokenOf(name as ActorName));
}

/** The actor whose refresh token the body carries, if any. */
export function refreshTokenOwner(body: string): ActorName | undefined {
  return [...body.matchAll(REFRESH_PLACEHOLDER)][0]?.[1] as ActorName | undefined;
}

/** How the request authenticates: as an actor (with a scheme spelling), or not at all. */
export type Auth =
  | { kind: "none" }
  | { kind: "actor"; actor: ActorName; scheme: "Bearer" | "bearer" | "BEARER" }
  | { kind: "tampered"; actor: ActorName; how: "flip" | "cut" | "append" | "no-scheme" | "basic" }
  | { kind: "raw"; value: string };

export interface FuzzRequest {
  method: string;
  /** The path template's parameters, unencoded. */
  pathParams: Record<string, string>;
  /** Path parameters written into the URL as they are (malformed percent-encoding and such). */
  rawPath: Record<string, string>;
  query: [string, string][];
  /** Appended to the encoded query as it is. */
  rawQuery: string;
  headers: Record<string, string>;
  auth: Auth;
  body: string | undefined;
  /** Which generators made the body (printed with a counterexample). */
  notes: string[];
}

const INT32 = 2 ** 31 - 1;

/** Numbers, literals and strings written raw into JSON text, where JSON.stringify cannot go. */
const RAW_WEIRD = [
  "1e309",
  "-1e309",
  "1e-400",
  "9007199254740993",
  "18446744073709551616",
  "1000000000001",
  "-0",
  "0",
  "-1",
  "1.5",
  "1.0",
  "1E3",
  "0.0000001",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "01",
  "+1",
  "null",
  "true",
  "[]",
  "{}",
  '""',
  '"1"',
  '" USD"',
  '"usd"',
  '"\\u0000"',
  '"\\ud800"',
];

const SPECIAL_STRINGS = [
  "",
  " ",
  "\u0000",
  "é",
  "e\u0301",
  "𝒜𝒷𝒸",
  "👩‍👩‍👧",
  "\u202eevil",
  "../../etc/passwd",
  "%00",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "ＡＢＣ",
  "١٢٣",
  "\t\n\r",
  "\uFEFF",
];

const unicodeString = fc.oneof(
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

/** A value of any type but (probably) the right one, as raw JSON text. */
const wrongRaw: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...RAW_WEIRD) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: unicodeString.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.double().map((d) => JSON.stringify(d)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(101, 201, 256, 1_000, 5_000)
      .map((n) => JSON.stringify("x".repeat(n))),
  },
  { weight: 1, arbitrary: fc.constantFrom(70_000).map((n) => JSON.stringify("a".repeat(n))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(64, 1_000, 10_000).map((n) => "[".repeat(n) + "]".repeat(n)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(64, 2_000).map((n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`),
  },
);

/** What the values of one request are drawn from. */
interface Ctx {
  operation: Operation;
  pools: Pools;
  resolve: (s: Schema) => Schema;
  /** The caller's own account ids (none when nobody is authenticated). */
  own: number[];
  /** The account the path names (`/accounts/{id}/…`), if one of the pools'. */
  pathAccount?: number;
}

/** An id for an `id`-like name on this operation: mostly the caller's, often anyone's. */
function idArbitrary(ctx: Ctx, name: string): fc.Arbitrary<number> {
  if (name === "id" && ctx.operation.path.startsWith("/transfers")) {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...ctx.pools.transferIds) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000 }) },
    );
  }
  const all = ctx.pools.accounts.map((a) => a.id);
  return fc.oneof(
    {
      weight: ctx.own.length > 0 ? 5 : 0,
      arbitrary: fc.constantFrom(...(ctx.own.length > 0 ? ctx.own : [0])),
    },
    { weight: 4, arbitrary: fc.constantFrom(...all, UNKNOWN) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000 }) },
  );
}

/**
 * Makes a valid transfer or cash body coherent most of the time: the currency of the account
 * debited (or named by the path), a counterpart in that currency. Without it almost every
 * generated transfer would stop at a currency mismatch and no money would move.
 */
function coherent(ctx: Ctx, value: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  if ("username" in value && "password" in value && /login/.test(ctx.operation.path)) {
    // A login with an actor's real credentials, half the time.
    return fc
      .tuple(fc.boolean(), fc.constantFrom(...ctx.pools.credentials))
      .map(([real, who]) =>
        real ? { ...value, username: who.username, password: who.password } : value,
      );
  }
  const accountOf = (id: unknown) => ctx.pools.accounts.find((a) => a.id === id);
  const from = accountOf(value.from_account_id) ?? accountOf(ctx.pathAccount);
  if (!from || typeof value.currency !== "string") return fc.constant(value);
  return fc.tuple(fc.nat(4), fc.nat(4), fc.nat()).map(([sameCurrency, sameTo, pick]) => {
    const out = { ...value };
    if (sameCurrency > 0) out.currency = from.currency;
    if ("to_account_id" in out && sameTo > 0) {
      const to = ctx.pools.accounts.filter((a) => a.currency === out.currency && a.id !== from.id);
      if (to.length > 0) out.to_account_id = to[pick % to.length]?.id;
    }
    return out;
  });
}

/** A value the schema accepts (mostly), with ids and names taken from the pools. */
function validValue(schema: Schema, name: string, ctx: Ctx): fc.Arbitrary<unknown> {
  const { pools } = ctx;
  const s = ctx.resolve(schema);
  if (/(^|_)id$/.test(name) && s.type === "integer" && name !== "email_id" && name !== "page_id") {
    return idArbitrary(ctx, name);
  }
  if (["username", "to_username", "owner"].includes(name)) {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...pools.usernames) },
      { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_]{3,20}$/) },
    );
  }
  if (name === "amount") {
    return fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
      { weight: 1, arbitrary: fc.constantFrom(1, s.maximum ?? 1_000_000_000_000) },
    );
  }
  // Each text field also at its limits: exactly the longest allowed, one past it, and as
  // many multi-byte characters (72 characters of `é` are 144 bytes: past bcrypt's 72).
  const atLimits = (max: number | undefined, unit: string, suffix = "") =>
    max === undefined
      ? []
      : [
          `${unit.repeat(max - suffix.length)}${suffix}`,
          `${unit.repeat(max + 1 - suffix.length)}${suffix}`,
        ];
  if (name === "email") {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...pools.emails) },
      {
        weight: 4,
        arbitrary: fc
          .stringMatching(/^[a-z0-9]{1,12}$/)
          .map((local) => `${local}@fuzz.example.com`),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ...atLimits(s.maxLength, "a", "@fuzz.example.com"),
          "ALICE@FUZZ.EXAMPLE.COM",
          "a@b",
          "é@fuzz.example.com",
        ),
      },
    );
  }
  if (name === "password") {
    return fc.oneof(
      { weight: 8, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 8, maxLength: 40 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ...atLimits(s.maxLength, "p"),
          "é".repeat(36),
          "é".repeat(37),
          "😀".repeat(18),
          "😀".repeat(19),
        ),
      },
    );
  }
  if (name === "full_name" || name === "fullName") {
    return fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ '.-]{0,30}$/) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ...atLimits(s.maxLength, "a"),
          ...atLimits(s.maxLength, "é"),
          "Zoë O'Brien-Smith Jr.",
          "李小龙",
          "Ἀριστοτέλης",
        ),
      },
    );
  }
  if (name === "refresh_token") {
    return fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...pools.refreshTokens) },
      // An actor's refresh token as it is when the request is sent (see `send`).
      { weight: 3, arbitrary: fc.constantFrom(...ACTOR_NAMES).map((n) => `${REFRESH}${n}}}`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    );
  }
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case "integer": {
      const min = Math.max(s.minimum ?? -INT32, -INT32);
      const max = Math.min(s.maximum ?? INT32, INT32, min + 1_000);
      // The bounds themselves too (page_id 90071992547409, amount 1000000000000…).
      const bounds = [s.minimum, s.maximum].filter((b): b is number => b !== undefined);
      return bounds.length === 0
        ? fc.integer({ min, max })
        : fc.oneof(
            { weight: 6, arbitrary: fc.integer({ min, max }) },
            { weight: 1, arbitrary: fc.constantFrom(...bounds) },
          );
    }
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "string": {
      if (s.format === "uuid") return fc.uuid();
      if (s.format === "date-time") {
        return fc
          .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
          .map((d) => d.toISOString());
      }
      if (s.pattern) return fc.stringMatching(new RegExp(s.pattern), { maxLength: 60 });
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
    }
    case "array":
      return fc.array(validValue(s.items ?? {}, name, ctx), { maxLength: 3 });
    case "object":
      return validObject(s, ctx);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/** Property names of an object schema, where `fullName` and `full_name` are one field. */
function fieldGroups(schema: Schema): string[][] {
  const names = Object.keys(schema.properties ?? {});
  const camel = (n: string) => n.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const groups: string[][] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    const alias = names.find((o) => o !== name && (camel(o) === name || camel(name) === o));
    const group = alias ? [name, alias] : [name];
    for (const n of group) seen.add(n);
    groups.push(group);
  }
  return groups;
}

/** A JSON object of the schema's fields: every required one, some optional ones. */
function validObject(schema: Schema, ctx: Ctx): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const groups = fieldGroups(schema);
  const anyOfRequired = JSON.stringify((schema.allOf ?? []).flatMap((part) => part.anyOf ?? []));
  const parts = groups.map((group) => {
    const spelled = fc.constantFrom(...group);
    // Required outright, or as one of its spellings (`anyOf: [{required: [full_name]}, …]`).
    const needed = group.some(
      (n) => required.has(n) || anyOfRequired.includes(`"required":["${n}"]`),
    );
    const present = needed ? fc.constant(true) : fc.boolean();
    return fc
      .tuple(present, spelled)
      .chain(([isPresent, name]) =>
        isPresent
          ? validValue(properties[name] ?? {}, name, ctx).map(
              (value) => [[name, value]] as [string, unknown][],
            )
          : fc.constant([] as [string, unknown][]),
      );
  });
  return fc
    .tuple(...parts)
    .map((entries) => Object.fromEntries(entries.flat()))
    .chain((value) => coherent(ctx, value));
}

/** Raw JSON text of `entries` (values already raw), in order, duplicates kept. */
function rawObject(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

/** A JSON body for the operation: valid, or one of many ways of being wrong. */
function bodyArbitrary(ctx: Ctx): fc.Arbitrary<{ body: string; notes: string[] }> {
  const schema = ctx.operation.body ?? {};
  const valid = validObject(schema, ctx);
  const fields = Object.keys(schema.properties ?? {});
  const entries = (value: Record<string, unknown>) =>
    Object.entries(value).map(([k, v]) => [k, JSON.stringify(v)] as [string, string]);
  const fieldOf = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant("x");

  const mutated = fc.tuple(valid, fieldOf, wrongRaw).map(([value, field, raw]) => {
    const list = entries(value).filter(([k]) => k !== field);
    return { body: rawObject([...list, [field, raw]]), notes: [`${field} raw ${short(raw)}`] };
  });
  const missing = fc.tuple(valid, fieldOf).map(([value, field]) => {
    const { [field]: _, ...rest } = value;
    return { body: JSON.stringify(rest), notes: [`without ${field}`] };
  });
  const extra = fc
    .tuple(valid, fc.constantFrom("extra", "__proto__", "constructor", "role", "balance", "owner"))
    .chain(([value, field]) =>
      wrongRaw.map((raw) => ({
        body: rawObject([...entries(value), [field, raw]]),
        notes: [`extra ${field}`],
      })),
    );
  const duplicate = fc.tuple(valid, fieldOf, wrongRaw).map(([value, field, raw]) => {
    const list = entries(value);
    return {
      body: rawObject([[field, raw], ...list, [field, raw]]),
      notes: [`duplicate ${field}`],
    };
  });
  const whole = fc
    .constantFrom(
      "",
      " ",
      "{",
      "}",
      "[]",
      "null",
      "1",
      '"text"',
      "{}",
      "{} {}",
      '{"a":1,}',
      "\uFEFF{}",
      "[".repeat(20_000) + "]".repeat(20_000),
      `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`,
      "{'single':'quotes'}",
      "\u0000",
    )
    .map((body) => ({ body, notes: [`body ${short(body)}`] }));
  const truncated = fc
    .tuple(valid, fc.nat())
    .map(([value, cut]) => {
      const text = JSON.stringify(value);
      return text.slice(0, cut % Math.max(text.length, 1));
    })
    .map((body) => ({ body, notes: ["truncated"] }));
  const oversized = valid.map((value) => ({
    body: JSON.stringify({ ...value, padding: "p".repeat(70_000) }),
    notes: ["oversized (70 000 bytes of padding)"],
  }));

  return fc.oneof(
    { weight: 10, arbitrary: valid.map((v) => ({ body: JSON.stringify(v), notes: ["valid"] })) },
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: missing },
    { weight: 1, arbitrary: extra },
    { weight: 1, arbitrary: duplicate },
    { weight: 1, arbitrary: whole },
    { weight: 1, arbitrary: truncated },
    { weight: 1, arbitrary: oversized },
  );
}

const CONTENT_TYPES = [
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/problem+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=iso-8859-1",
  "application/jsonx",
  "application/xml",
  "",
];

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** A parameter's value as text: from its schema, or something a client should not send. */
function parameterValue(parameter: Parameter, ctx: Ctx): fc.Arbitrary<string> {
  const valid = validValue(parameter.schema, parameter.name, ctx).map(String);
  const wrong = fc.oneof(
    fc.constantFrom(
      "0",
      "-1",
      "abc",
      "1.5",
      "1e3",
      "0x1",
      " 1",
      "1 ",
      "+1",
      "99999999999999999999",
      "9007199254740992",
      "1e309",
      "NaN",
      "Infinity",
      "null",
      "true",
      "１",
      "٣",
      "%",
      "%00",
      ".",
      "..",
    ),
    unicodeString.filter((s) => s.length > 0),
    fc.constantFrom(300, 5_000).map((n) => "9".repeat(n)),
  );
  // A URL parser resolves `.` and `..` path segments before any server sees them.
  const sendable = parameter.in === "path" ? wrong.filter((v) => v !== "." && v !== "..") : wrong;
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: sendable });
}

/** Only characters a header value may carry (a fetch Headers rejects the rest). */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, "").trim();

const authArbitrary: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("actor" as const),
      actor: fc.constantFrom(...ACTOR_NAMES),
      scheme: fc.constantFrom("Bearer" as const, "bearer" as const, "BEARER" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tampered" as const),
      actor: fc.constantFrom(...ACTOR_NAMES),
      how: fc.constantFrom(
        "flip" as const,
        "cut" as const,
        "append" as const,
        "no-scheme" as const,
        "basic" as const,
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "",
          "Bearer",
          "Bearer ",
          "Bearer  ",
          "Bearer v4.local.AAAA",
          "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImFsaWNlIn0.",
          "Bearer v4.public.AAAA",
          "Token abc",
        ),
        fc.string({ unit: "grapheme-ascii", maxLength: 80 }).map((s) => `Bearer ${s}`),
      )
      .map((value) => ({ kind: "raw" as const, value: headerSafe(value) })),
  },
);

/** Path segments sent unencoded: what a URL parser passes on but a decoder may choke on. */
const RAW_SEGMENTS = [
  "%",
  "%ZZ",
  "%E0%A4%A",
  "%C0%AF",
  "%FF",
  "%00",
  "%2F",
  "1%2F2",
  "%u0031",
  "1;a=b",
  "1,2",
  "1%20",
  "%F0%9F%92%A9",
];

/** Query text appended unencoded. */
const RAW_QUERIES = ["%", "%ZZ=1", "page_id=%E0%A4%A", "=", "&&", "a", "x=1;y=2", "%00=%00"];

const rawQuery = fc.oneof(
  { weight: 12, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERIES) },
);

/** Every request the fuzzer may send to `operation`. */
export function requestArbitrary(
  operation: Operation,
  pools: Pools,
  resolve: (s: Schema) => Schema,
): fc.Arbitrary<FuzzRequest> {
  // Who asks comes first: the ids of the request are then mostly the caller's own.
  return authArbitrary.chain((auth) => {
    const own = auth.kind === "none" || auth.kind === "raw" ? [] : pools.own[auth.actor];
    const base: Ctx = { operation, pools, resolve, own };
    const pathParameters = operation.parameters.filter((p) => p.in === "path");
    return fc
      .tuple(...pathParameters.map((p) => parameterValue(p, base)))
      .map((values) => Object.fromEntries(pathParameters.map((p, i) => [p.name, values[i] ?? ""])))
      .chain((pathParams) => {
        const id = Number(pathParams.id);
        const ctx: Ctx = operation.path.startsWith("/accounts/")
          ? { ...base, pathAccount: id }
          : base;
        const names = pathParameters.map((p) => p.name);
        const rawPath: fc.Arbitrary<Record<string, string>> =
          names.length === 0
            ? fc.constant({})
            : fc.oneof(
                { weight: 8, arbitrary: fc.constant({}) },
                {
                  weight: 1,
                  arbitrary: fc
                    .tuple(fc.constantFrom(...names), fc.constantFrom(...RAW_SEGMENTS))
                    .map(([name, value]) => ({ [name]: value })),
                },
              );
        return fc
          .tuple(rawPath, rawQuery)
          .chain(([raw, query]) => rest(ctx, auth, pathParams, raw, query));
      });
  });
}

function rest(
  ctx: Ctx,
  auth: Auth,
  pathParams: Record<string, string>,
  rawPath: Record<string, string>,
  rawQuery: string,
): fc.Arbitrary<FuzzRequest> {
  const { operation } = ctx;
  const queryParameters = operation.parameters.filter((p) => p.in === "query");
  const headerParameters = operation.parameters.filter((p) => p.in === "header");
  const queryOne = (p: Parameter) =>
    fc.oneof(
      {
        weight: p.required ? 6 : 3,
        arbitrary: parameterValue(p, ctx).map((v) => [[p.name, v]] as [string, string][]),
      },
      { weight: 2, arbitrary: fc.constant([] as [string, string][]) },
      {
        weight: 1,
        arbitrary: fc.tuple(parameterValue(p, ctx), parameterValue(p, ctx)).map(
          ([a, b]) =>
            [
              [p.name, a],
              [p.name, b],
            ] as [string, string][],
        ),
      },
    );
  const extraQuery = fc.oneof(
    { weight: 8, arbitrary: fc.constant([] as [string, string][]) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("extra", "page", "limit", "__proto__", "id"), unicodeString)
        .map(([k, v]) => [[k, v]] as [string, string][]),
    },
  );
  const query = fc
    .tuple(fc.tuple(...queryParameters.map(queryOne)), extraQuery)
    .map(([lists, extra]) => [...lists.flat(), ...extra]);

  const headers = fc
    .tuple(
      fc.tuple(
        ...headerParameters.map((p) =>
          fc
            .oneof(
              { weight: 2, arbitrary: fc.constant(undefined) },
              { weight: 3, arbitrary: fc.constantFrom("fuzz-key-1", "fuzz-key-2", "fuzz-key-3") },
              {
                weight: 1,
                arbitrary: fc
                  .oneof(
                    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }),
                    fc.constantFrom("k".repeat(256), "k".repeat(5_000)),
                  )
                  .map(headerSafe),
              },
            )
            .map((value) => [p.name, value] as const),
        ),
      ),
      fc.option(
        fc.oneof(fc.uuid(), fc.string({ unit: "grapheme-ascii", maxLength: 300 }).map(headerSafe)),
        { freq: 4 },
      ),
    )
    .map(([pairs, requestId]) => {
      const out: Record<string, string> = {};
      for (const [name, value] of pairs) if (value !== undefined) out[name] = value;
      if (requestId !== null) out["X-Request-Id"] = requestId;
      return out;
    });

  const body = operation.body ? fc.tuple(bodyArbitrary(ctx), contentType) : fc.constant(undefined);

  return fc.record({ query, headers, body }).map(({ query: q, headers: h, body: b }) => {
    const all = { ...h };
    if (b?.[1] !== undefined) all["Content-Type"] = b[1];
    return {
      method: operation.method,
      pathParams,
      rawPath,
      query: q,
      rawQuery,
      headers: all,
      auth,
      body: b?.[0].body,
      notes: b?.[0].notes ?? [],
    };
  });
}

function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
}
