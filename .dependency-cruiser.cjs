/**
 * The architecture, checked (`bun run check:architecture`, run by .ci/run): imports only point
 * down. From the top:
 *   entries     src/*.ts, src/bun/, src/edge/        (runtime wiring; may use everything below)
 *   wiring      src/core/wiring/                     (builds the parts from the configuration)
 *   transports  src/core/http/, src/core/grpc/       (parse, call one service, map the result)
 *   services    src/core/services/, src/core/jobs/   (the business rules)
 *   adapters    src/core/{db,auth,mail,redis,config}/ (storage, tokens, email, Redis, variables)
 *   domain      src/core/domain/                     (types, rules, error codes, ports)
 *   lib         src/core/lib/                        (plain helpers; usable from anywhere)
 * Nothing in src/ imports tools/, tests/ or bench/; no cycles; the transports never touch
 * drizzle or the database driver themselves.
 */
const LAYERS = {
  entries: "^src/([^/]+\\.ts$|bun/|edge/)",
  wiring: "^src/core/wiring/",
  transports: "^src/core/(http|grpc)/",
  services: "^src/core/(services|jobs)/",
  adapters: "^src/core/(db|auth|mail|redis|config)/",
  domain: "^src/core/domain/",
  lib: "^src/core/lib/",
};

/** A layer may import only itself and the layers below it. */
const below = {
  wiring: ["transports", "services", "adapters", "domain", "lib"],
  transports: ["services", "adapters", "domain", "lib"],
  services: ["adapters", "domain", "lib"],
  adapters: ["domain", "lib"],
  domain: ["lib"],
  lib: [],
};

const upward = Object.entries(below).map(([layer, allowed]) => ({
  name: `${layer}-imports-only-down`,
  comment: `${layer} may import only ${[layer, ...allowed].join(", ")}`,
  severity: "error",
  from: { path: LAYERS[layer] },
  to: {
    path: "^src/",
    pathNot: [LAYERS[layer], ...allowed.map((name) => LAYERS[name])],
  },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "core-is-runtime-neutral",
      comment: "src/core runs on Bun and on the Worker: it never imports the runtime entries",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: LAYERS.entries },
    },
    {
      name: "no-drizzle-in-transports",
      comment: "handlers call services; data access lives in src/core/db and src/core/services",
      severity: "error",
      from: { path: LAYERS.transports },
      to: { path: "node_modules/(drizzle-orm|postgres)/" },
    },
    {
      name: "src-ships-alone",
      comment: "what ships never imports the development tools, tests or benchmarks",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(tools|tests|bench)/" },
    },
    {
      name: "no-cycles",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    parser: "swc",
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
