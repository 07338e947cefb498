import consoleBuild from "../../console/dist.json";
import type { ConsoleAssets } from "../core/http/env.ts";

/** The web console's build (`bun run console:build`), bundled into the Worker as JSON. */
export const consoleAssets: ConsoleAssets = consoleBuild;
