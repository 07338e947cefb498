/**
 * The image's build replayed on this machine, since no Docker engine runs here: the build
 * context as .dockerignore leaves it, then every stage of the Dockerfile in order, instruction by
 * instruction: a folder per stage standing for its file system (FROM <stage> starts from a
 * hard-linked copy of that stage's), WORKDIR and ENV kept, COPY from the context or from an
 * earlier stage, RUN in a shell there, this machine's Bun standing in for the oven/bun image
 * of the same version (the test checks they agree). So a file the build needs but no COPY
 * brings, or that .dockerignore keeps out, fails here as it would fail `docker build`.
 *
 * Then what the runtime stage holds: the binary alone, at the path ENTRYPOINT and HEALTHCHECK
 * name, needing only glibc (all the distroless base has); and the development-only redis-rest
 * stage's bundle, which serves and passes compose's health check exactly when Redis answers.
 * The binary's own behaviour (migrate, serve, worker, healthcheck, SIGTERM) is
 * tests/ship/binary.test.ts's.
 *
 * Not replayed: the base images themselves (their users, libraries, paths), BuildKit's cache
 * mount, and anything Docker does at run time.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, posix } from "node:path";
import { poll } from "../support/poll.ts";
import { freePort } from "../support/process.ts";
import { environmentOf, loadCompose } from "./compose.ts";
import {
  argumentsOf,
  entrypointOf,
  flag,
  healthcheckOf,
  parentOf,
  readDockerfile,
  type Stage,
  stageOf,
  words,
} from "./dockerfile.ts";
import { isIgnored, parseDockerignore } from "./dockerignore.ts";

const ROOT = join(import.meta.dir, "..", "..");
const model = readDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const ignoreRules = parseDockerignore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));

let work = "";
/** Each replayed stage: the folder standing for its `/`, its working directory and ENV. */
const built = new Map<string, { root: string; workdir: string; env: Record<string, string> }>();

/** Copies the build context as Docker sends it: every file .dockerignore does not exclude. */
function copyContext(to: string, dir = ""): void {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      // An excluded folder is only entered when a ! pattern could bring something in it back.
      const reincluded = ignoreRules.some((r) => r.negate && r.pattern.startsWith(`${path}/`));
      if (!isIgnored(path, ignoreRules) || reincluded) copyContext(to, path);
    } else if (!isIgnored(path, ignoreRules)) {
      mkdirSync(join(to, dir), { recursive: true });
      cpSync(join(ROOT, path), join(to, path));
    }
  }
}

/** Docker's COPY: a folder's contents into the destination; files into it when it is a folder. */
function copy(sources: string[], destination: string, destinationIsFolder: boolean): void {
  for (const source of sources) {
    if (!existsSync(source)) throw new Error(`COPY: ${source} does not exist`);
    if (statSync(source).isDirectory()) {
      cpSync(source, destination, { recursive: true });
    } else if (destinationIsFolder) {
      mkdirSync(destination, { recursive: true });
      cpSync(source, join(destination, basename(source)));
    } else {
      mkdirSync(posix.dirname(destination), { recursive: true });
      cpSync(source, destination);
    }
  }
}

async function replay(stage: Stage, context: string): Promise<void> {
  const root = join(work, "stages", stage.name);
  const parent = parentOf(model, stage);
  const from = parent ? built.get(parent.name) : undefined;
  if (from) {
    mkdirSync(join(work, "stages"), { recursive: true });
    const cp = Bun.spawnSync(["cp", "-al", from.root, root]);
    if (cp.exitCode !== 0) throw new Error(`cp -al: ${cp.stderr.toString()}`);
  } else {
    mkdirSync(root, { recursive: true });
  }
  let workdir = from?.workdir ?? "/";
  const env = { ...from?.env };
  const at = (path: string) => join(root, posix.resolve(workdir, path));
  for (const instruction of stage.instructions) {
    const keyword = instruction.getKeyword();
    if (keyword === "WORKDIR") {
      workdir = posix.resolve(workdir, argumentsOf(instruction));
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (keyword === "ENV") {
      for (const [name, value] of (argumentsOf(instruction).match(/\S+=\S*/g) ?? []).map((p) =>
        p.split("="),
      )) {
        env[name as string] = value ?? "";
      }
    } else if (keyword === "COPY") {
      const args = words(instruction);
      const destination = args.at(-1) as string;
      const fromStage = flag(instruction, "from");
      const sources = args.slice(0, -1).map((source) => {
        if (!fromStage) return join(context, source);
        const other = built.get(fromStage);
        if (!other) throw new Error(`COPY --from=${fromStage}: no such stage replayed`);
        return join(other.root, posix.resolve(other.workdir, source));
      });
      copy(sources, at(destination), destination.endsWith("/") || sources.length > 1);
    } else if (keyword === "RUN") {
      if (!from && !stage.base.startsWith("oven/bun:")) {
        throw new Error(`RUN in ${stage.name}, whose base ${stage.base} has no shell here`);
      }
      const command = argumentsOf(instruction);
      const run = Bun.spawnSync(["sh", "-c", command], {
        cwd: join(root, workdir),
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      });
      if (run.exitCode !== 0) {
        throw new Error(`[${stage.name}] RUN ${command} failed (${run.exitCode}):\n${run.stderr}`);
      }
    }
  }
  built.set(stage.name, { root, workdir, env });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "simplebank-image-"));
  const context = join(work, "context");
  copyContext(context);
  for (const stage of model.stages) await replay(stage, context);
}, 240_000);

// Three stages' node_modules (hard links) and two binaries: more than the default 5 s to remove.
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

/** A path inside the image of `stage` as a path on this machine. */
function inImage(stage: string, path: string): string {
  const replayed = built.get(stage);
  if (!replayed) throw new Error(`stage ${stage} was not replayed`);
  return join(replayed.root, posix.resolve(replayed.workdir, path));
}

/** Every file under `dir`, as paths relative to it. */
function filesIn(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesIn(dir, path) : [path];
  });
}

describe("the image's build, replayed", () => {
  test("every stage replays; this machine's Bun is the Bun of the image's build stages", () => {
    expect([...built.keys()]).toEqual(model.names);
    for (const stage of model.stages) {
      if (stage.base.startsWith("oven/bun:")) {
        expect(stage.base).toMatch(new RegExp(`^oven/bun:${Bun.version}(-[a-z]+)?$`));
      }
    }
  });

  test("deps: bun install --frozen-lockfile applied patches/postgres@3.4.9.patch", () => {
    const deps = built.get("deps")?.root ?? "";
    const patched = join(ROOT, "node_modules", "postgres", "cf", "src", "connection.js");
    const installed = inImage("deps", "node_modules/postgres/cf/src/connection.js");
    expect(existsSync(deps)).toBe(true);
    // The checkout's node_modules has the patch applied; the replayed install must match it.
    expect(readFileSync(installed, "utf8")).toBe(readFileSync(patched, "utf8"));
  });

  test("runtime: the binary alone, where ENTRYPOINT and HEALTHCHECK find it, needing only glibc", () => {
    const runtime = model.final;
    const [binary, ...args] = entrypointOf(model, runtime) ?? [];
    expect(args).toEqual([]);
    const health = healthcheckOf(model, runtime);
    expect(Array.isArray(health) && health[0]).toBe(binary as string);

    // What the runtime stage adds to its base: one executable file.
    const root = built.get(runtime.name)?.root ?? "";
    expect(filesIn(root)).toEqual([(binary as string).slice(1)]);
    const path = join(root, binary as string);
    expect(statSync(path).mode & 0o111).not.toBe(0);

    // Dynamically linked against glibc only: what every distroless base except static has.
    const ldd = Bun.spawnSync(["ldd", path]);
    expect(ldd.exitCode).toBe(0);
    const libraries = ldd.stdout
      .toString()
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[0] ?? "")
      .filter(Boolean)
      .map((library) => basename(library));
    expect(libraries.length).toBeGreaterThan(0);
    for (const library of libraries) {
      expect(library).toMatch(/^(linux-vdso|ld-linux[\w.-]*|lib(c|m|dl|pthread|rt|resolv))\.so/);
    }

    // It runs from the image's working directory with nothing else around.
    const help = Bun.spawnSync([path, "--help"], {
      cwd: root,
      env: { PATH: "/nonexistent" },
    });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString() + help.stderr.toString()).toContain("migrate");
  });

  test("redis-rest (development only): its bundle serves, and compose's health check agrees with Redis", async () => {
    const stage = stageOf(model, "redis-rest");
    const [bun, script] = entrypointOf(model, stage) ?? [];
    expect(bun).toBe("/usr/local/bin/bun");
    const bundle = inImage("redis-rest", script as string);
    expect(existsSync(bundle)).toBe(true);

    const compose = loadCompose(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"));
    const service = compose.services["redis-rest"] ?? {};
    const token = environmentOf(service).REDIS_REST_TOKEN as string;
    const [, , , probe = ""] = (service.healthcheck?.test ?? []) as string[];

    const port = await freePort();
    // The run's Redis when it has one; else a port where nothing listens.
    const redisUrl = process.env.REDIS_URL || `redis://127.0.0.1:${await freePort()}`;
    const child = Bun.spawn([process.execPath, bundle], {
      env: {
        PATH: process.env.PATH ?? "",
        REDIS_URL: redisUrl,
        REDIS_REST_HOST: "127.0.0.1",
        REDIS_REST_PORT: String(port),
        REDIS_REST_TOKEN: token,
      },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const answer = async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return response.status;
        } catch {
          return undefined;
        }
      };
      // Serving (200 with Redis, 503 until Redis answers) within seconds of starting.
      const status = await poll("the redis-rest bundle to answer", answer, { timeoutMs: 15_000 });
      const healthy = Boolean(process.env.REDIS_URL);
      expect(status).toBe(healthy ? 200 : 503);
      const check = Bun.spawnSync(
        [process.execPath, "-e", probe.replace("127.0.0.1:8079", `127.0.0.1:${port}`)],
        { env: { PATH: process.env.PATH ?? "", REDIS_REST_TOKEN: token } },
      );
      expect(check.exitCode === 0).toBe(healthy);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
  }, 30_000);
});
