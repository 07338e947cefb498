// swagger-ui-dist ships plain files, which each runtime's entry imports as text: Bun with
// `with { type: "text" }` (src/bun/docs-assets.ts), the Worker's bundle through wrangler's Text
// module rule (wrangler.toml, src/edge/docs-assets.ts).
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const text: string;
  export default text;
}
