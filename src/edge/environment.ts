/**
 * What a Worker receives as `env`: its [vars] and secrets as strings, and bindings. The bank
 * reads the same variables as the Bun server; the database comes from the Hyperdrive binding
 * when there is one (production), else from DATABASE_URL (local workerd, tests).
 */
export interface EdgeEnv {
  HYPERDRIVE?: { connectionString: string };
  [variable: string]: unknown;
}

/** The variables of `env` as `loadConfig` takes them, DATABASE_URL from Hyperdrive if bound. */
export function variablesOf(env: EdgeEnv): Record<string, string | undefined> {
  const variables: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") variables[name] = value;
  }
  if (env.HYPERDRIVE) variables.DATABASE_URL = env.HYPERDRIVE.connectionString;
  return variables;
}
