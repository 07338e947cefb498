// drizzle-kit's SQL migrations, imported as text by src/bun/migrations.ts (Bun's
// `with { type: "text" }`), so every Bun entry and the compiled binary carry them.
declare module "*.sql" {
  const text: string;
  export default text;
}
