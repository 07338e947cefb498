import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { consoleAssets } from "../../src/bun/console-assets.ts";
import { createApp } from "../../src/core/http/app.ts";
import type { LocalWorker } from "../../tools/edge/workerd.ts";
import { testHttpDeps } from "../support/app.ts";
import { startEdge, stopEdges } from "../support/edge.ts";

/**
 * The web console on the Worker, in workerd (the built bundle, console/dist.json bundled in):
 * the same pages, files and headers as the Bun server's; GET /verify_email the console's page
 * for a navigation and the JSON API otherwise; an unknown path the API's 404.
 */

let edge: LocalWorker;

beforeAll(async () => {
  edge = await startEdge();
}, 60_000);

afterAll(stopEdges);

const NAVIGATION = "text/html,application/xhtml+xml,*/*;q=0.8";

describe("the web console on the Worker", () => {
  test("its pages and files are the Bun server's, with the same headers", async () => {
    const bun = createApp(await testHttpDeps());
    const paths = [
      "/",
      "/login",
      "/app/accounts/7",
      "/console-config.json",
      ...Object.keys(consoleAssets).filter((name) => name.startsWith("/assets/")),
    ];
    for (const path of paths) {
      const [onEdge, onBun] = [await fetch(`${edge.url}${path}`), await bun.request(path)];
      expect({ path, status: onEdge.status }).toEqual({ path, status: 200 });
      for (const header of ["content-type", "content-security-policy", "cache-control"]) {
        expect({ path, header, value: onEdge.headers.get(header) }).toEqual({
          path,
          header,
          value: onBun.headers.get(header),
        });
      }
      expect((await onEdge.text()) === (await onBun.text())).toBe(true);
    }
  });

  test("GET /verify_email: the page for a navigation, the JSON API otherwise; 404 elsewhere", async () => {
    const page = await fetch(`${edge.url}/verify_email?email_id=1&secret_code=x`, {
      headers: { Accept: NAVIGATION },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(consoleAssets["/index.html"]?.body ?? "missing");
    const api = await fetch(`${edge.url}/verify_email`, { headers: { Accept: "*/*" } });
    expect(api.status).toBe(400);
    expect(api.headers.get("content-type")).toBe("application/problem+json");
    const unknown = await fetch(`${edge.url}/app/unknown`, { headers: { Accept: NAVIGATION } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toBe("application/problem+json");
  });
});
