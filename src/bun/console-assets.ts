import consoleBuild from "../../console/dist.json";
import type { ConsoleAssets } from "../core/http/env.ts";

/** The web console's build (`bun run console:build`), embedded by Bun (and into a compiled binary). */
export const consoleAssets: ConsoleAssets = consoleBuild;
