import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

/**
 * The web console's build (`bun run console:build`, tools/console/build.ts) and dev server
 * (`bun run console:dev`: Vite on CONSOLE_DEV_PORT, 5173 by default, proxying the API's paths
 * to CONSOLE_DEV_API, http://127.0.0.1:8080 by default). Hashed file names, no inline script,
 * no external request: the API serves the build under a strict Content-Security-Policy.
 */
const api = process.env.CONSOLE_DEV_API ?? "http://127.0.0.1:8080";
const apiPaths = ["/users", "/tokens", "/accounts", "/transfers", "/healthz", "/openapi.json"];

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    port: Number(process.env.CONSOLE_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: {
      ...Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: true }])),
      // The verification link opens the console's page (a navigation); its fetch goes to the API.
      "/verify_email": {
        target: api,
        changeOrigin: true,
        bypass: (req) => (req.headers.accept?.includes("text/html") ? "/index.html" : undefined),
      },
    },
  },
});
