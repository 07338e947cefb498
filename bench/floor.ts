/**
 * The framework-free floor of `bun run bench` (bench/main.ts spawns it): Bun.serve and
 * postgres.js, the account read's query (the one bench/pgbench/read.sql runs), and nothing else:
 * no framework, auth, validation or logging. GET /accounts/{id} → the row as JSON.
 * Environment: BENCH_FLOOR_DATABASE_URL, BENCH_FLOOR_POOL_MAX (the API's pool size). Prints
 * "listening <port>" once it serves on a free port.
 */
import postgres from "postgres";

const url = process.env.BENCH_FLOOR_DATABASE_URL;
if (!url) throw new Error("BENCH_FLOOR_DATABASE_URL is required");
const sql = postgres(url, {
  max: Number(process.env.BENCH_FLOOR_POOL_MAX ?? "10"),
  onnotice: () => {},
});

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const id = Number(new URL(request.url).pathname.split("/")[2]);
    const [row] = await sql`
      select id, owner, kind, balance, currency, created_at from accounts where id = ${id}`;
    return row ? Response.json(row) : new Response("not found", { status: 404 });
  },
});
console.log(`listening ${server.port}`);
process.on("SIGTERM", async () => {
  server.stop(true);
  await sql.end();
  process.exit(0);
});
