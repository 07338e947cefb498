/**
 * deploy/k8s, checked offline: the production overlay rendered by `kubectl kustomize` (kubectl
 * has kustomize built in), every object validated against the Kubernetes API's schemas
 * (kubernetes-models: each kind's model class, `.validate()`), the CRDs kubernetes-models does
 * not know (External Secrets, cert-manager) against the fields their controllers require, then
 * what the manifests mean: probes, selectors, images, resources, security, shutdown timing, the
 * migration Job and the rollout order of deploy/k8s/deploy.sh, autoscaling, network policies,
 * and every variable set against the bank's configuration schema (src/core/config/config.ts).
 *
 * kubectl is on CI's machine; on a machine without it, the checks of the rendered overlay are
 * skipped (and say so on stderr); the checks of the files as written still run.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import Ajv, { type JSONSchemaType } from "ajv";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from "kubernetes-models/autoscaling/v2";
import { CronJob, type ICronJob, type IJob, Job } from "kubernetes-models/batch/v1";
import {
  type IIngress,
  type INetworkPolicy,
  Ingress,
  NetworkPolicy,
} from "kubernetes-models/networking.k8s.io/v1";
import { type IPodDisruptionBudget, PodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type INamespace,
  type IPodTemplateSpec,
  type IService,
  type IServiceAccount,
  Namespace,
  Service,
  ServiceAccount,
} from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../../src/core/config/config.ts";

const ROOT = join(import.meta.dir, "..", "..");
const K8S = join(ROOT, "deploy", "k8s");
const OVERLAY = join(K8S, "overlays", "production");
const NAMESPACE = "simplebank";

type Labels = Record<string, string>;
type LabelSelector = NonNullable<NonNullable<IDeployment["spec"]>["selector"]>;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  spec?: unknown;
  data?: Record<string, string>;
}

// ---- the objects -------------------------------------------------------------------------

function parseObjects(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

const kubectl = Bun.which("kubectl");
if (!kubectl) {
  process.stderr.write(
    "[ship] kubectl not found: the checks of the rendered production overlay are SKIPPED " +
      "(install kubectl, which has kustomize built in, to run them)\n",
  );
}

/** `kubectl kustomize <dir>`: offline, no cluster needed. */
function render(dir: string): K8sObject[] {
  const run = Bun.spawnSync(["kubectl", "kustomize", dir], { stderr: "pipe" });
  if (run.exitCode !== 0) {
    throw new Error(`kubectl kustomize ${relative(ROOT, dir)} failed:\n${run.stderr.toString()}`);
  }
  return parseObjects(run.stdout.toString(), `kubectl kustomize ${relative(ROOT, dir)}`);
}

/** The manifests as written (every YAML file but the kustomizations). */
function writtenManifests(): { file: string; objects: K8sObject[] }[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name) && entry.name !== "kustomization.yaml") files.push(path);
    }
  };
  walk(K8S);
  return files.map((file) => ({
    file: relative(ROOT, file),
    objects: parseObjects(readFileSync(file, "utf8"), relative(ROOT, file)),
  }));
}

const byKind = <T>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as unknown as T[];

function named<T>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered overlay`);
  return found as unknown as T;
}

// ---- schemas -----------------------------------------------------------------------------

/** The model class of every built-in kind the manifests may use. */
const MODELS: Record<string, { validate(data: unknown): void }> = {
  "v1/Namespace": { validate: (data) => new Namespace(data as INamespace).validate() },
  "v1/ServiceAccount": {
    validate: (data) => new ServiceAccount(data as IServiceAccount).validate(),
  },
  "v1/ConfigMap": { validate: (data) => new ConfigMap(data as IConfigMap).validate() },
  "v1/Service": { validate: (data) => new Service(data as IService).validate() },
  "apps/v1/Deployment": { validate: (data) => new Deployment(data as IDeployment).validate() },
  "batch/v1/Job": { validate: (data) => new Job(data as IJob).validate() },
  "batch/v1/CronJob": { validate: (data) => new CronJob(data as ICronJob).validate() },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    validate: (data) => new HorizontalPodAutoscaler(data as IHorizontalPodAutoscaler).validate(),
  },
  "policy/v1/PodDisruptionBudget": {
    validate: (data) => new PodDisruptionBudget(data as IPodDisruptionBudget).validate(),
  },
  "networking.k8s.io/v1/Ingress": { validate: (data) => new Ingress(data as IIngress).validate() },
  "networking.k8s.io/v1/NetworkPolicy": {
    validate: (data) => new NetworkPolicy(data as INetworkPolicy).validate(),
  },
};

/**
 * The CRDs: what their controllers require, written from their CRDs' openAPIV3Schema (External
 * Secrets Operator 2.x serves external-secrets.io/v1 only; cert-manager 1.x cert-manager.io/v1):
 * required fields, types, enums. Extra fields are left to the API server.
 */
interface ExternalSecretSpec {
  refreshInterval: string;
  secretStoreRef: { kind: "SecretStore" | "ClusterSecretStore"; name: string };
  target: { name: string; creationPolicy: string; deletionPolicy?: string };
  data: { secretKey: string; remoteRef: { key: string; property?: string } }[];
}
interface SecretStoreSpec {
  provider: {
    aws: {
      service: "SecretsManager" | "ParameterStore";
      region: string;
      auth: { jwt: { serviceAccountRef: { name: string } } };
    };
  };
}
interface ClusterIssuerSpec {
  acme: {
    server: string;
    email: string;
    privateKeySecretRef: { name: string };
    solvers: { http01: { ingress: { ingressClassName: string } } }[];
  };
}

const nonEmpty = { type: "string", minLength: 1 } as const;
const ajv = new Ajv({ allErrors: true });
const CRD_SCHEMAS: Record<string, (spec: unknown) => string[]> = {
  "external-secrets.io/v1/ExternalSecret": specValidator<ExternalSecretSpec>({
    type: "object",
    required: ["secretStoreRef", "target", "data", "refreshInterval"],
    properties: {
      refreshInterval: { type: "string", pattern: "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$" },
      secretStoreRef: {
        type: "object",
        required: ["kind", "name"],
        properties: {
          kind: { type: "string", enum: ["SecretStore", "ClusterSecretStore"] },
          name: nonEmpty,
        },
      },
      target: {
        type: "object",
        required: ["name", "creationPolicy"],
        properties: {
          name: nonEmpty,
          creationPolicy: {
            type: "string",
            enum: ["Owner", "Orphan", "Merge", "None", "CreateOrMerge"],
          },
          deletionPolicy: {
            type: "string",
            enum: ["Delete", "Merge", "Retain"],
            nullable: true,
          },
        },
      },
      data: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          required: ["secretKey", "remoteRef"],
          properties: {
            secretKey: { type: "string", pattern: "^[A-Z_][A-Z0-9_]*$" },
            remoteRef: {
              type: "object",
              required: ["key"],
              properties: { key: nonEmpty, property: { ...nonEmpty, nullable: true } },
            },
          },
        },
      },
    },
  }),
  "external-secrets.io/v1/SecretStore": specValidator<SecretStoreSpec>({
    type: "object",
    required: ["provider"],
    properties: {
      provider: {
        type: "object",
        required: ["aws"],
        properties: {
          aws: {
            type: "object",
            required: ["service", "region", "auth"],
            properties: {
              service: { type: "string", enum: ["SecretsManager", "ParameterStore"] },
              region: { type: "string", pattern: "^[a-z]{2}(-[a-z]+)+-[0-9]$" },
              auth: {
                type: "object",
                required: ["jwt"],
                properties: {
                  jwt: {
                    type: "object",
                    required: ["serviceAccountRef"],
                    properties: {
                      serviceAccountRef: {
                        type: "object",
                        required: ["name"],
                        properties: { name: nonEmpty },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  }),
  "cert-manager.io/v1/ClusterIssuer": specValidator<ClusterIssuerSpec>({
    type: "object",
    required: ["acme"],
    properties: {
      acme: {
        type: "object",
        required: ["server", "email", "privateKeySecretRef", "solvers"],
        properties: {
          server: { type: "string", pattern: "^https://" },
          email: { type: "string", pattern: "^[^@\\s]+@[^@\\s]+$" },
          privateKeySecretRef: {
            type: "object",
            required: ["name"],
            properties: { name: nonEmpty },
          },
          solvers: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["http01"],
              properties: {
                http01: {
                  type: "object",
                  required: ["ingress"],
                  properties: {
                    ingress: {
                      type: "object",
                      required: ["ingressClassName"],
                      properties: { ingressClassName: nonEmpty },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  }),
};

function specValidator<T>(schema: JSONSchemaType<T>): (spec: unknown) => string[] {
  const validate = ajv.compile(schema);
  return (spec) =>
    validate(spec)
      ? []
      : (validate.errors ?? []).map((e) => `spec${e.instancePath} ${e.message ?? "is invalid"}`);
}

/** Every problem of one object against its kind's schema (empty: valid). */
function schemaProblems(object: K8sObject): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const where = `${object.kind} ${object.metadata?.name}`;
  if (!object.metadata?.name) return [`${key}: no metadata.name`];
  const model = MODELS[key];
  if (model) {
    try {
      model.validate(object);
      return [];
    } catch (error) {
      return [`${where}: ${(error as Error).message}`];
    }
  }
  const crd = CRD_SCHEMAS[key];
  if (crd) return crd(object.spec).map((problem) => `${where}: ${problem}`);
  return [`${where}: no schema for ${key} here; add its model (or CRD check) to this test`];
}

// ---- pods, containers, selectors ------------------------------------------------------------

interface Workload {
  kind: string;
  name: string;
  template: IPodTemplateSpec;
}

/** Every pod template: Deployments, Jobs, CronJobs. */
function workloads(objects: K8sObject[]): Workload[] {
  const list: Workload[] = [];
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    let template: IPodTemplateSpec | undefined;
    if (o.kind === "Deployment" || o.kind === "Job")
      template = (o as unknown as IDeployment).spec?.template;
    if (o.kind === "CronJob")
      template = (o as unknown as ICronJob).spec?.jobTemplate.spec?.template;
    if (template) list.push({ kind: o.kind, name: o.metadata.name, template });
    else if (spec && "template" in spec)
      throw new Error(`${o.kind} ${o.metadata.name}: unhandled pod template`);
  }
  return list;
}

const containersOf = (w: Workload): IContainer[] => [
  ...(w.template.spec?.initContainers ?? []),
  ...(w.template.spec?.containers ?? []),
];

/** Whether `selector` selects an object with `labels` (matchLabels and matchExpressions). */
function selects(selector: LabelSelector | undefined, labels: Labels = {}): boolean {
  if (!selector) return false;
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return true;
  return (
    matchLabels.every(([key, value]) => labels[key] === value) &&
    expressions.every(({ key, operator, values = [] }) => {
      const value = labels[key];
      if (operator === "In") return value !== undefined && values.includes(value);
      if (operator === "NotIn") return value === undefined || !values.includes(value);
      if (operator === "Exists") return value !== undefined;
      if (operator === "DoesNotExist") return value === undefined;
      throw new Error(`unknown selector operator ${operator}`);
    })
  );
}

/** kubectl's `-l` with `key notin (a,b)` / `key=value` (what deploy.sh uses). */
function matchesCli(selector: string, labels: Labels = {}): boolean {
  const notIn = /^(\S+) notin \(([^)]*)\)$/.exec(selector);
  if (notIn?.[1] && notIn[2] !== undefined) {
    const value = labels[notIn[1]];
    return value === undefined || !notIn[2].split(",").includes(value);
  }
  const equals = /^([^=\s]+)=(\S+)$/.exec(selector);
  if (equals?.[1] && equals[2]) return labels[equals[1]] === equals[2];
  throw new Error(`selector not understood by this test: ${selector}`);
}

/** The image reference's tag (`repo:tag`, `repo:tag@sha256:…`), if any. */
function imageTag(image: string): string | undefined {
  const withoutDigest = image.split("@")[0] ?? "";
  const lastSegment = withoutDigest.split("/").at(-1) ?? "";
  return lastSegment.includes(":") ? lastSegment.split(":").at(-1) : undefined;
}

/** A port named or numbered `port` of the container, as a number. */
function containerPort(
  container: IContainer,
  port: number | string | undefined,
): number | undefined {
  if (typeof port === "number") {
    return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  }
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

// ---- the configuration ---------------------------------------------------------------------

/** The variables production refuses to start without (from the schema's own production rules). */
function productionRequired(): string[] {
  try {
    loadConfig({ NODE_ENV: "production" });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  throw new Error("loadConfig accepted production with nothing set");
}

/**
 * Read by Bun itself, not by the bank's configuration: the one such variable a pod may set
 * (docs/aws.md: trusting the RDS CA for TLS to PostgreSQL).
 */
const RUNTIME_VARIABLES = ["NODE_EXTRA_CA_CERTS"];

/** Never in a ConfigMap: these come from the Secret. */
const SECRET_VARIABLES = [
  "DATABASE_URL",
  "TOKEN_SYMMETRIC_KEY",
  "RESEND_API_KEY",
  "UPSTASH_REDIS_REST_TOKEN",
];

/** Stand-ins of the right form for the Secret's values, to run the schema on a pod's whole env. */
const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: "postgres://simplebank:password@db.internal:5432/bank?sslmode=require",
  TOKEN_SYMMETRIC_KEY: "0123456789abcdef0123456789abcdef",
  RESEND_API_KEY: "re_stand_in",
  UPSTASH_REDIS_REST_TOKEN: "stand-in-token",
};

function parseEnvFile(text: string): Record<string, string> {
  const entries: [string, string][] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const at = trimmed.indexOf("=");
    if (at < 1) throw new Error(`config.env: not NAME=value: ${line}`);
    entries.push([trimmed.slice(0, at), trimmed.slice(at + 1)]);
  }
  return Object.fromEntries(entries);
}

// ---- the files as written (no kubectl needed) ------------------------------------------------

describe("deploy/k8s as written", () => {
  const manifests = writtenManifests();

  test("every manifest file validates against its kind's schema", () => {
    expect(manifests.length).toBeGreaterThan(0);
    const problems = manifests.flatMap(({ file, objects }) =>
      objects.flatMap((object) => schemaProblems(object).map((p) => `${file}: ${p}`)),
    );
    expect(problems).toEqual([]);
  });

  test("every kustomization's resources exist", () => {
    const missing: string[] = [];
    for (const dir of ["base", "cluster", "overlays/production"]) {
      const [kustomization] = parseObjects(
        readFileSync(join(K8S, dir, "kustomization.yaml"), "utf8"),
        dir,
      ) as unknown as { resources?: string[]; configMapGenerator?: { envs?: string[] }[] }[];
      const paths = [
        ...(kustomization?.resources ?? []),
        ...(kustomization?.configMapGenerator ?? []).flatMap((g) => g.envs ?? []),
      ];
      for (const path of paths) {
        if (!existsSync(join(K8S, dir, path))) missing.push(`${dir}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("config.env sets only configuration variables, and no secret one", () => {
    const config = parseEnvFile(readFileSync(join(K8S, "base", "config.env"), "utf8"));
    expect(Object.keys(config).filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    expect(Object.keys(config).filter((name) => SECRET_VARIABLES.includes(name))).toEqual([]);
    // Their values parse (production's required ones come from the overlay and the Secret).
    expect(() => loadConfig({ ...config, NODE_ENV: "development" })).not.toThrow();
  });

  test("deploy.sh is valid bash", () => {
    const run = Bun.spawnSync(["bash", "-n", join(K8S, "deploy.sh")], { stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
  });
});

// ---- the rendered production overlay (needs kubectl) ---------------------------------------

/** The rendered overlay and what the checks look at; built on first use, so a problem fails the
 * tests that need it (with its message) instead of the whole file's collection. */
function renderProduction() {
  const objects = render(OVERLAY);
  const all = workloads(objects);
  const deployment = (name: string) => named<IDeployment>(objects, "Deployment", name);
  const api = deployment("simplebank-api");
  const worker = deployment("simplebank-worker");
  const apiTemplate = api.spec?.template as IPodTemplateSpec;
  const apiContainer = apiTemplate.spec?.containers[0] as IContainer;
  const configMaps = byKind<IConfigMap>(objects, "ConfigMap");
  const externalSecrets = byKind<K8sObject & { spec: ExternalSecretSpec }>(
    objects,
    "ExternalSecret",
  );

  /** What a container's environment holds: ConfigMap values, Secret keys (stand-ins), env. */
  function environmentOf(container: IContainer): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) {
        const name = source.configMapRef.name;
        const configMap = configMaps.find((c) => c.metadata?.name === name);
        if (!configMap) throw new Error(`${container.name}: no ConfigMap ${name}`);
        Object.assign(env, configMap.data);
      } else if (source.secretRef) {
        const name = source.secretRef.name;
        const external = externalSecrets.find((e) => e.spec.target.name === name);
        if (!external) throw new Error(`${container.name}: no ExternalSecret makes Secret ${name}`);
        for (const { secretKey } of external.spec.data) {
          const standIn = SECRET_STAND_INS[secretKey];
          if (standIn === undefined) throw new Error(`no stand-in for secret key ${secretKey}`);
          env[secretKey] = standIn;
        }
      }
    }
    for (const variable of container.env ?? []) {
      if (variable.valueFrom) throw new Error(`${container.name}: ${variable.name} uses valueFrom`);
      env[variable.name] = variable.value ?? "";
    }
    return env;
  }

  /**
   * The configuration the API's pods start with (the ConfigMap's values, else the schema's),
   * read without production's rules: what production requires has a test of its own.
   */
  const apiConfig = loadConfig({ ...environmentOf(apiContainer), NODE_ENV: "development" });
  return {
    objects,
    all,
    api,
    worker,
    apiTemplate,
    apiContainer,
    configMaps,
    externalSecrets,
    environmentOf,
    apiConfig,
  };
}

let production: ReturnType<typeof renderProduction> | undefined;
const rendered = () => {
  production ??= renderProduction();
  return production;
};

describe.skipIf(!kubectl)("the production overlay, rendered (needs kubectl)", () => {
  test("renders the objects production needs", () => {
    const { objects } = rendered();
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      "Namespace",
      "ConfigMap",
      "ExternalSecret",
      "SecretStore",
      "Deployment",
      "Job",
      "Service",
      "Ingress",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "ClusterIssuer",
    ]) {
      expect(kinds).toContain(kind);
    }
  });

  test("every object validates against its kind's schema", () => {
    const { objects } = rendered();
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  test("every namespaced object is in the bank's namespace; ClusterIssuers have none", () => {
    const { objects } = rendered();
    const clusterScoped = new Set(["Namespace", "ClusterIssuer"]);
    const wrong = objects
      .filter((o) =>
        clusterScoped.has(o.kind)
          ? o.metadata.namespace !== undefined
          : o.metadata.namespace !== NAMESPACE,
      )
      .map((o) => `${o.kind} ${o.metadata.name}: ${o.metadata.namespace}`);
    expect(wrong).toEqual([]);
    const namespace = named<INamespace>(objects, "Namespace", NAMESPACE);
    expect(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  test("images are pinned by tag (never latest), from the production registry", () => {
    const { all } = rendered();
    const images = all.flatMap((w) => containersOf(w).map((c) => `${w.name}: ${c.image}`));
    expect(images.length).toBeGreaterThan(0);
    const unpinned = images.filter((line) => {
      const tag = imageTag(line.split(": ")[1] ?? "");
      return !tag || tag === "latest";
    });
    expect(unpinned).toEqual([]);
    for (const line of images)
      expect(line).toMatch(/: [0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\//);
  });

  test("every container has CPU and memory requests and a memory limit", () => {
    const { all } = rendered();
    const missing = all.flatMap((w) =>
      containersOf(w)
        .filter(
          (c) =>
            !c.resources?.requests?.cpu ||
            !c.resources?.requests?.memory ||
            !c.resources?.limits?.memory,
        )
        .map((c) => `${w.name}/${c.name}`),
    );
    expect(missing).toEqual([]);
  });

  test("every pod runs as non-root, read-only, unprivileged, with RuntimeDefault seccomp", () => {
    const { all } = rendered();
    const problems: string[] = [];
    for (const w of all) {
      const pod = w.template.spec?.securityContext;
      if (pod?.runAsNonRoot !== true) problems.push(`${w.name}: runAsNonRoot`);
      if (!pod?.runAsUser) problems.push(`${w.name}: a non-zero runAsUser`);
      if (w.template.spec?.automountServiceAccountToken !== false) {
        problems.push(`${w.name}: automountServiceAccountToken false`);
      }
      for (const c of containersOf(w)) {
        const s = c.securityContext;
        const where = `${w.name}/${c.name}`;
        if (s?.runAsUser === 0 || s?.runAsNonRoot === false) problems.push(`${where}: root`);
        if (s?.allowPrivilegeEscalation !== false)
          problems.push(`${where}: allowPrivilegeEscalation`);
        if (s?.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem`);
        if (s?.privileged === true) problems.push(`${where}: privileged`);
        if (!s?.capabilities?.drop?.includes("ALL")) problems.push(`${where}: drop ALL`);
        if (s?.capabilities?.add?.length) problems.push(`${where}: adds capabilities`);
        const seccomp = s?.seccompProfile?.type ?? pod?.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault") problems.push(`${where}: seccomp RuntimeDefault`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("the API's probes: readiness /readyz, liveness and startup /healthz, on PORT", () => {
    const { apiContainer, apiConfig } = rendered();
    expect(apiContainer.command).toBeUndefined();
    expect(apiContainer.args ?? []).toEqual([]);
    expect(containerPort(apiContainer, "http")).toBe(apiConfig.port);
    const probes = {
      readiness: apiContainer.readinessProbe,
      liveness: apiContainer.livenessProbe,
      startup: apiContainer.startupProbe,
    };
    expect(probes.readiness?.httpGet?.path).toBe("/readyz");
    expect(probes.liveness?.httpGet?.path).toBe("/healthz");
    expect(probes.startup?.httpGet?.path).toBe("/healthz");
    for (const probe of Object.values(probes)) {
      expect(containerPort(apiContainer, probe?.httpGet?.port)).toBe(apiConfig.port);
    }
  });

  test("graceful stop: the grace period covers the preStop pause and SHUTDOWN_TIMEOUT", () => {
    const { worker, apiTemplate, apiContainer, environmentOf, apiConfig } = rendered();
    // SHUTDOWN_TIMEOUT as the pods read it: the ConfigMap's value, else the schema's default.
    const shutdownSeconds = apiConfig.shutdownTimeout / 1000;
    expect(shutdownSeconds).toBeGreaterThan(0);
    const pause = apiContainer.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pause).toBeGreaterThanOrEqual(3);
    const grace = apiTemplate.spec?.terminationGracePeriodSeconds ?? 30;
    // A margin for the job queue and the pools to close after the last request.
    expect(grace).toBeGreaterThanOrEqual(pause + shutdownSeconds + 5);

    const workerContainer = worker.spec?.template.spec?.containers[0] as IContainer;
    const workerShutdown =
      loadConfig({ ...environmentOf(workerContainer), NODE_ENV: "development" }).shutdownTimeout /
      1000;
    const workerGrace = worker.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    expect(workerGrace).toBeGreaterThanOrEqual(workerShutdown + 5);
  });

  test("the API does not run the job worker; the worker Deployment does (`worker`)", () => {
    const { worker, apiConfig } = rendered();
    expect(apiConfig.workerEnabled).toBe(false);
    const workerContainer = worker.spec?.template.spec?.containers[0];
    expect(workerContainer?.command).toBeUndefined();
    expect(workerContainer?.args).toEqual(["worker"]);
  });

  test("the migration Job runs `migrate` once per release, and the CronJob prunes keys", () => {
    const { objects } = rendered();
    const job = named<IJob>(objects, "Job", "simplebank-migrate");
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.command).toBeUndefined();
    expect(container?.args).toEqual(["migrate"]);
    expect(job.spec?.template.spec?.restartPolicy).toBe("Never");
    expect(job.spec?.backoffLimit).toBeGreaterThanOrEqual(0);
    expect(job.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
    const cron = named<ICronJob>(objects, "CronJob", "simplebank-prune-idempotency-keys");
    expect(cron.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args).toEqual([
      "prune-idempotency-keys",
    ]);
    expect(cron.spec?.concurrencyPolicy).toBe("Forbid");
  });

  test("each Deployment's selector matches its pods, and only its own", () => {
    const { objects, all } = rendered();
    for (const d of byKind<IDeployment>(objects, "Deployment")) {
      const name = d.metadata?.name ?? "";
      expect(selects(d.spec?.selector, d.spec?.template.metadata?.labels)).toBe(true);
      const others = all.filter(
        (w) => w.name !== name && selects(d.spec?.selector, w.template.metadata?.labels),
      );
      expect(others.map((w) => w.name)).toEqual([]);
    }
  });

  test("the Service selects the API's pods only, on its container ports (HTTP, gRPC 9090)", () => {
    const { objects, all, apiContainer, apiConfig } = rendered();
    const service = named<IService>(objects, "Service", "simplebank-api");
    const selector = { matchLabels: service.spec?.selector ?? {} };
    expect(Object.keys(selector.matchLabels).length).toBeGreaterThan(0);
    expect(
      all.filter((w) => selects(selector, w.template.metadata?.labels)).map((w) => w.name),
    ).toEqual(["simplebank-api"]);
    const ports = Object.fromEntries(
      (service.spec?.ports ?? []).map((p) => [p.name, containerPort(apiContainer, p.targetPort)]),
    );
    expect(ports).toEqual({ http: apiConfig.port, grpc: 9090 });
  });

  test("Ingresses: nginx, TLS from a ClusterIssuer here, DNS by external-dns, gRPC backend", () => {
    const { objects } = rendered();
    const issuers = byKind<K8sObject>(objects, "ClusterIssuer").map((i) => i.metadata.name);
    expect(issuers.sort()).toEqual(["letsencrypt-production", "letsencrypt-staging"]);
    const service = named<IService>(objects, "Service", "simplebank-api");
    const servicePorts = new Map((service.spec?.ports ?? []).map((p) => [p.name, p.port]));
    const ingresses = byKind<IIngress>(objects, "Ingress");
    expect(ingresses.length).toBe(2);
    for (const ingress of ingresses) {
      const annotations = ingress.metadata?.annotations ?? {};
      const hosts = (ingress.spec?.rules ?? []).map((r) => r.host ?? "");
      expect(ingress.spec?.ingressClassName).toBe("nginx");
      // Production's certificates come from Let's Encrypt's production CA.
      expect(annotations["cert-manager.io/cluster-issuer"]).toBe("letsencrypt-production");
      expect(ingress.spec?.tls?.flatMap((t) => t.hosts ?? [])).toEqual(hosts);
      expect(annotations["external-dns.alpha.kubernetes.io/hostname"]).toBe(hosts.join(","));
      for (const host of hosts) expect(host).not.toMatch(/\.example$/);
      for (const path of (ingress.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? [])) {
        const backend = path.backend.service;
        expect(backend?.name).toBe("simplebank-api");
        expect(servicePorts.has(backend?.port?.name)).toBe(true);
      }
    }
    const grpc = ingresses.find((i) => i.metadata?.name === "simplebank-grpc");
    expect(grpc?.metadata?.annotations?.["nginx.ingress.kubernetes.io/backend-protocol"]).toBe(
      "GRPC",
    );
    const grpcPort = grpc?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port?.name;
    expect(servicePorts.get(grpcPort)).toBe(9090);
  });

  test("ClusterIssuers: Let's Encrypt staging and production, HTTP-01 through nginx", () => {
    const { objects } = rendered();
    const servers = Object.fromEntries(
      byKind<K8sObject & { spec: ClusterIssuerSpec }>(objects, "ClusterIssuer").map((i) => [
        i.metadata.name,
        i.spec.acme.server,
      ]),
    );
    expect(servers).toEqual({
      "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
      "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    });
    for (const issuer of byKind<K8sObject & { spec: ClusterIssuerSpec }>(
      objects,
      "ClusterIssuer",
    )) {
      expect(issuer.spec.acme.email).not.toMatch(/\.example$/);
      expect(issuer.spec.acme.solvers[0]?.http01.ingress.ingressClassName).toBe("nginx");
    }
  });

  test("the Secret comes from AWS Secrets Manager through an IRSA-annotated account", () => {
    const { objects, externalSecrets } = rendered();
    expect(externalSecrets.length).toBe(1);
    const external = externalSecrets[0] as K8sObject & { spec: ExternalSecretSpec };
    const store = named<K8sObject & { spec: SecretStoreSpec }>(
      objects,
      "SecretStore",
      external.spec.secretStoreRef.name,
    );
    expect(external.spec.secretStoreRef.kind).toBe("SecretStore");
    expect(store.spec.provider.aws.service).toBe("SecretsManager");
    const account = named<IServiceAccount>(
      objects,
      "ServiceAccount",
      store.spec.provider.aws.auth.jwt.serviceAccountRef.name,
    );
    expect(account.metadata?.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(
      /^arn:aws:iam::[0-9]{12}:role\/.+/,
    );
    // Production's own secret, one name for every key.
    expect(new Set(external.spec.data.map((d) => d.remoteRef.key))).toEqual(
      new Set(["simplebank/production"]),
    );
    expect(byKind<K8sObject>(objects, "Secret")).toEqual([]);
  });

  test("every variable set is a configuration variable; secrets only in the Secret", () => {
    const { all, configMaps, environmentOf } = rendered();
    const unknown: string[] = [];
    for (const w of all) {
      for (const c of containersOf(w)) {
        for (const name of Object.keys(environmentOf(c))) {
          if (!CONFIG_VARIABLES.includes(name) && !RUNTIME_VARIABLES.includes(name)) {
            unknown.push(`${w.name}/${c.name}: ${name}`);
          }
        }
      }
    }
    expect(unknown).toEqual([]);
    const secretInConfigMap = configMaps.flatMap((c) =>
      Object.keys(c.data ?? {}).filter((name) => SECRET_VARIABLES.includes(name)),
    );
    expect(secretInConfigMap).toEqual([]);
  });

  test("every variable production requires is provided, and every pod's config loads", () => {
    const { all, environmentOf } = rendered();
    const required = productionRequired();
    expect(required).toContain("DATABASE_URL");
    for (const w of all) {
      for (const c of containersOf(w)) {
        const env = environmentOf(c);
        expect({ [`${w.name}/${c.name}`]: required.filter((name) => !env[name]) }).toEqual({
          [`${w.name}/${c.name}`]: [],
        });
        // The whole schema on the pod's environment: the ConfigMap's values parse.
        expect(env.NODE_ENV).toBe("production");
        expect(() => loadConfig(env)).not.toThrow();
      }
    }
  });

  test("the HPA scales the API Deployment (2 or more); the PDB guards the same pods", () => {
    const { objects, all, api } = rendered();
    const hpa = named<IHorizontalPodAutoscaler>(
      objects,
      "HorizontalPodAutoscaler",
      "simplebank-api",
    );
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "simplebank-api",
    });
    const min = hpa.spec?.minReplicas ?? 1;
    expect(min).toBeGreaterThanOrEqual(2);
    expect(hpa.spec?.maxReplicas).toBeGreaterThanOrEqual(min);
    // Replicas belong to the HPA: an apply must not reset them.
    expect(api.spec?.replicas).toBeUndefined();

    const pdb = named<IPodDisruptionBudget>(objects, "PodDisruptionBudget", "simplebank-api");
    expect(
      all
        .filter((w) => selects(pdb.spec?.selector, w.template.metadata?.labels))
        .map((w) => w.name),
    ).toEqual(["simplebank-api"]);
    const unavailable = pdb.spec?.maxUnavailable;
    const available = pdb.spec?.minAvailable;
    if (unavailable !== undefined) expect(Number(unavailable)).toBeLessThan(min);
    else expect(Number(available)).toBeGreaterThanOrEqual(1);
  });

  test("NetworkPolicies: default deny; only ingress-nginx reaches the API; egress is narrow", () => {
    const { objects, all, apiConfig } = rendered();
    const policies = byKind<INetworkPolicy>(objects, "NetworkPolicy");
    const policiesOf = (labels: Labels | undefined, type: "Ingress" | "Egress") =>
      policies.filter(
        (p) => selects(p.spec?.podSelector, labels) && (p.spec?.policyTypes ?? []).includes(type),
      );

    for (const w of all) {
      const labels = w.template.metadata?.labels;
      // Covered both ways (so anything not allowed is denied).
      expect({ [w.name]: policiesOf(labels, "Ingress").length > 0 }).toEqual({ [w.name]: true });
      expect({ [w.name]: policiesOf(labels, "Egress").length > 0 }).toEqual({ [w.name]: true });

      // Ingress: only the API, only from ingress-nginx's pods, only on its ports.
      const ingressRules = policiesOf(labels, "Ingress").flatMap((p) => p.spec?.ingress ?? []);
      if (w.name !== "simplebank-api") expect({ [w.name]: ingressRules }).toEqual({ [w.name]: [] });
      for (const rule of ingressRules) {
        expect(rule.from?.length).toBeGreaterThan(0);
        for (const peer of rule.from ?? []) {
          expect(peer.ipBlock).toBeUndefined();
          expect(peer.namespaceSelector?.matchLabels).toEqual({
            "kubernetes.io/metadata.name": "ingress-nginx",
          });
          expect(peer.podSelector?.matchLabels).toEqual({
            "app.kubernetes.io/name": "ingress-nginx",
          });
        }
        expect(rule.ports?.map((p) => p.port).sort()).toEqual([apiConfig.port, 9090]);
      }

      // Egress: DNS to kube-dns, PostgreSQL, HTTPS (Upstash, resend); nothing else.
      const egressRules = policiesOf(labels, "Egress").flatMap((p) => p.spec?.egress ?? []);
      const allowed = egressRules.map((rule) => {
        expect(rule.to?.length).toBeGreaterThan(0);
        expect(rule.ports?.length).toBeGreaterThan(0);
        return (rule.ports ?? []).map((p) => `${p.protocol ?? "TCP"}/${p.port}`).join(",");
      });
      expect({ [w.name]: allowed.sort() }).toEqual({
        [w.name]: ["TCP/443", "TCP/5432", "UDP/53,TCP/53"],
      });
      const dns = egressRules.find((r) => r.ports?.some((p) => p.port === 53));
      expect(dns?.to?.[0]?.podSelector?.matchLabels).toEqual({ "k8s-app": "kube-dns" });
      const postgres = egressRules.find((r) => r.ports?.some((p) => p.port === 5432));
      for (const peer of postgres?.to ?? []) {
        // Private addresses only.
        expect(peer.ipBlock?.cidr).toMatch(/^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.)/);
      }
      const https = egressRules.find((r) => r.ports?.some((p) => p.port === 443));
      expect(https?.to?.[0]?.ipBlock?.except).toEqual(
        expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]),
      );
    }
  });

  test("deploy.sh's order: config first, then the Job alone, then the Deployments", () => {
    const { objects } = rendered();
    const script = readFileSync(join(K8S, "deploy.sh"), "utf8");
    const value = (name: string) => new RegExp(`^${name}=(.+)$`, "m").exec(script)?.[1] ?? "";
    const component = value("COMPONENT");
    const selectors = [...script.matchAll(/-l "([^"]+)"/g)].map((m) =>
      (m[1] ?? "").replace(/\$\{COMPONENT\}/, component),
    );
    expect(selectors.length).toBe(2);
    const [first = "", migration = ""] = selectors;
    const labelsOf = (o: K8sObject) => o.metadata.labels;
    const step1 = objects.filter((o) => matchesCli(first, labelsOf(o)));
    const step2 = objects.filter((o) => matchesCli(migration, labelsOf(o)));

    // Step 1 has what the Job needs, and neither Deployments nor Jobs.
    for (const kind of [
      "Namespace",
      "ConfigMap",
      "ExternalSecret",
      "SecretStore",
      "NetworkPolicy",
    ]) {
      expect(step1.map((o) => o.kind)).toContain(kind);
    }
    expect(step1.filter((o) => o.kind === "Deployment" || o.kind === "Job")).toEqual([]);
    // Step 2 is the migration Job alone.
    expect(step2.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Job/simplebank-migrate"]);

    // The names the script waits for exist.
    expect(value("NAMESPACE")).toBe(NAMESPACE);
    named(objects, "ExternalSecret", value("EXTERNAL_SECRET"));
    named(objects, "Job", value("MIGRATION_JOB"));
    const deployments = /^DEPLOYMENTS=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
    expect(deployments.sort()).toEqual(
      byKind<IDeployment>(objects, "Deployment")
        .map((d) => d.metadata?.name ?? "")
        .sort(),
    );
  });
});
