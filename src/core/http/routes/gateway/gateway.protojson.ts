import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env.ts";

/**
 * How the original's grpc-gateway read a request, and wrote a response: protojson with
 * UseProtoNames, DiscardUnknown and EmitUnpopulated=false. The gateway routes' schemas and
 * presenters are built from this file; the field rules themselves are the domain's, as REST's.
 */

/** The lowerCamel JSON name protoc gives a field: `full_name` → `fullName`. */
function jsonNameOf(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A request message as protojson decodes it, ready for a route's `body` or `query`: each field
 * by its proto name or its lowerCamel JSON name (not both: protojson's "duplicate field"),
 * `null` as absent, unknown fields ignored (in a query the router still refuses them:
 * create-router.ts). The fields then go through their own rules (the domain's), so `errors[]`
 * names them by their proto names whichever spelling was sent.
 *
 * The OpenAPI document shows both spellings with the same rules. In a body, a required field
 * with two spellings is required as either (`anyOf`) and never both (`not`); a query parameter
 * cannot say that, so both spellings are optional there and the descriptions say which one is
 * needed. Give required fields as they are and optional ones as `.optional()`.
 */
export function protoRequest<Shape extends Record<string, z.ZodType>>(
  fields: Shape,
  place: "body" | "query",
) {
  const names = Object.keys(fields);
  const aliased = names.filter((name) => jsonNameOf(name) !== name);
  const required = names.filter((name) => !fields[name]?.safeParse(undefined).success);

  const shape: Record<string, z.ZodType> = {};
  for (const [name, rule] of Object.entries(fields)) {
    const alias = jsonNameOf(name);
    if (alias === name) {
      shape[name] = rule;
      continue;
    }
    const needed = required.includes(name);
    shape[name] =
      place === "query" && needed
        ? rule.openapi({
            param: { name, in: "query", required: false },
            description: `Required, as \`${name}\` or \`${alias}\``,
          })
        : rule;
    shape[alias] = rule.optional().openapi({
      ...(place === "query" ? { param: { name: alias, in: "query" } } : {}),
      description: `\`${name}\` by its lowerCamel JSON name: the same field and rules${needed ? ` (required, as \`${name}\` or \`${alias}\`)` : ""}; send one of the two`,
    });
  }

  // A transform piped into the object (what z.preprocess builds, with a type routes accept):
  // the document shows the object, the aliases included; validation sees what the transform
  // returns, by proto names alone (the aliases never reach it).
  const decode = z.pipe(
    z.transform((input: unknown, ctx) => {
      if (!isObject(input)) return input;
      const message: Record<string, unknown> = {};
      for (const name of names) {
        const alias = jsonNameOf(name);
        if (alias !== name && Object.hasOwn(input, name) && Object.hasOwn(input, alias)) {
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: `is given twice: as ${name} and as ${alias}`,
            input: input[alias],
          });
          continue;
        }
        const value = Object.hasOwn(input, name) ? input[name] : input[alias];
        if (value !== null && value !== undefined) message[name] = value;
      }
      return message;
    }),
    z.object(shape) as unknown as z.ZodObject<Shape>,
  );

  if (place === "query") return decode;
  return decode.openapi({
    required: required.filter((name) => !aliased.includes(name)),
    ...(aliased.length > 0
      ? {
          allOf: [
            ...required
              .filter((name) => aliased.includes(name))
              .map((name) => ({ anyOf: [{ required: [name] }, { required: [jsonNameOf(name)] }] })),
            ...aliased.map((name) => ({ not: { required: [name, jsonNameOf(name)] } })),
          ],
        }
      : {}),
  });
}

/** Media types Hono's JSON validator parses (`application/json`, `application/*+json`). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * grpc-gateway decodes an empty body (nothing, or only whitespace) as an empty message, which
 * then fails validation like `{}`, where REST answers `malformed_json`. Without a Content-Type
 * an empty body is already validated as `{}`; with a JSON one, an empty body is replaced by
 * `{}` here (as the body limit replaces the request it has read). Route middleware: it runs
 * after authentication and before validation.
 */
export const emptyBodyIsEmptyMessage = createMiddleware<AppEnv>(async (c, next) => {
  const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
  if (JSON_MEDIA_TYPE.test(mediaType) && (await c.req.raw.clone().text()).trim() === "") {
    c.req.raw = new Request(c.req.raw, { body: "{}" });
  }
  await next();
});

/** A field at its zero value, which protojson with EmitUnpopulated=false leaves out. */
type Zero = "" | false | 0 | null | undefined;

/**
 * `T` as protojson writes it: a boolean field becomes optional, present only when true. (An
 * empty string or a 0 is left out too, but the domain never lets the strings of these messages
 * be empty, so their types stay as they are.)
 */
type ProtoJson<T> = {
  [K in keyof T as false extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as false extends T[K] ? K : never]?: Exclude<T[K], Zero>;
};

/**
 * A response message as protojson writes it with EmitUnpopulated=false: every field holding
 * its zero value (`""`, `false`, `0`, unset) left out; a nested message is written when set.
 * The keys keep the order given (the proto's field numbers, as protojson writes them).
 */
export function protoJson<T extends Record<string, unknown>>(message: T): ProtoJson<T> {
  const isZero = (value: unknown) =>
    value === "" || value === false || value === 0 || value === null || value === undefined;
  return Object.fromEntries(
    Object.entries(message).filter(([, value]) => !isZero(value)),
  ) as ProtoJson<T>;
}
