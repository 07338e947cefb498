import { type Dockerfile, DockerfileParser, type Instruction } from "dockerfile-ast";

/**
 * The Dockerfile as stages (parsed with dockerfile-ast): each stage's name, its base (build
 * arguments resolved from their defaults) and its instructions, plus what a stage inherits
 * through `FROM <stage>` (working directory, environment, health check).
 */

export interface Stage {
  name: string;
  /** The FROM image, build arguments resolved; an earlier stage's name for FROM <stage>. */
  base: string;
  instructions: Instruction[];
}

export interface DockerfileModel {
  parsed: Dockerfile;
  stages: Stage[];
  names: string[];
  /** The last stage: what `docker build` makes without --target. */
  final: Stage;
  /** The build arguments declared before the first FROM, with their defaults. */
  args: Map<string, string>;
}

export function readDockerfile(text: string): DockerfileModel {
  const parsed = DockerfileParser.parse(text);
  const args = new Map(
    parsed
      .getInitialARGs()
      .map((arg) => [arg.getProperty()?.getName() ?? "", arg.getProperty()?.getValue() ?? ""]),
  );
  const resolve = (value: string) =>
    value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => {
      const resolved = args.get(name);
      if (resolved === undefined) throw new Error(`Dockerfile: no default for ARG ${name}`);
      return resolved;
    });
  const froms = parsed.getFROMs();
  const stages: Stage[] = [];
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const from = froms[stages.length];
      stages.push({
        name: from?.getBuildStage() ?? `#${stages.length}`,
        base: resolve(from?.getImage() ?? ""),
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  const final = stages.at(-1);
  if (!final) throw new Error("Dockerfile: no FROM");
  return { parsed, stages, names: stages.map((s) => s.name), final, args };
}

export function stageOf(model: DockerfileModel, name: string): Stage {
  const found = model.stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile: no stage ${name} (stages: ${model.names.join(", ")})`);
  return found;
}

/** The stage a stage is built FROM, when it is one. */
export const parentOf = (model: DockerfileModel, s: Stage) =>
  model.names.includes(s.base) ? stageOf(model, s.base) : undefined;

export const keyword = (s: Stage, word: string) =>
  s.instructions.filter((i) => i.getKeyword() === word);

/** A flag's value (`--from=build` → "build"), undefined without it. */
export function flag(instruction: Instruction, name: string): string | undefined {
  const withFlags = instruction as unknown as {
    getFlags?: () => { getName(): string; getValue(): string | null }[];
  };
  return (
    withFlags
      .getFlags?.()
      .find((f) => f.getName() === name)
      ?.getValue() ?? undefined
  );
}

/** The arguments as written, flags left out. */
export const argumentsOf = (instruction: Instruction) => instruction.getArgumentsContent() ?? "";
export const words = (instruction: Instruction) =>
  instruction.getArguments().map((a) => a.getValue());

/** An exec-form (JSON array) argument list, e.g. ENTRYPOINT ["/bin/x"]. */
export function execForm(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new Error(`not an exec form: ${json}`);
  }
  return parsed;
}

/** The working directory a stage's instructions end in (inherited through FROM <stage>). */
export function workdirOf(model: DockerfileModel, s: Stage): string {
  const own = keyword(s, "WORKDIR").at(-1);
  if (own) return argumentsOf(own);
  const parent = parentOf(model, s);
  return parent ? workdirOf(model, parent) : "/";
}

/** The ENV values a stage ends with (the last assignment wins; inherited through FROM <stage>). */
export function envOf(model: DockerfileModel, s: Stage): Map<string, string> {
  const parent = parentOf(model, s);
  const env = parent ? envOf(model, parent) : new Map<string, string>();
  for (const instruction of model.parsed.getENVs()) {
    if (!s.instructions.includes(instruction)) continue;
    for (const property of instruction.getProperties()) {
      env.set(property.getName(), property.getValue() ?? "");
    }
  }
  return env;
}

/** The HEALTHCHECK a stage's image carries: its exec form, "NONE", or undefined. */
export function healthcheckOf(model: DockerfileModel, s: Stage): string[] | "NONE" | undefined {
  const last = keyword(s, "HEALTHCHECK").at(-1);
  if (!last) {
    const parent = parentOf(model, s);
    return parent ? healthcheckOf(model, parent) : undefined;
  }
  const content = argumentsOf(last).trim();
  if (/^NONE$/i.test(content)) return "NONE";
  const cmd = /^CMD\s+(\[.*\])$/s.exec(content);
  if (!cmd?.[1]) throw new Error(`HEALTHCHECK of ${s.name} is not CMD in exec form: ${content}`);
  return execForm(cmd[1]);
}

/** The ENTRYPOINT a stage ends with, in exec form (inherited through FROM <stage>). */
export function entrypointOf(model: DockerfileModel, s: Stage): string[] | undefined {
  const last = keyword(s, "ENTRYPOINT").at(-1);
  if (last) return execForm(argumentsOf(last));
  const parent = parentOf(model, s);
  return parent ? entrypointOf(model, parent) : undefined;
}
