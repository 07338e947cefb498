import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inflateSync } from "node:zlib";

/**
 * Headless Chromium for the tests that prove a page renders in a real browser (/docs on the Bun
 * server and on the Worker): finding the binary, one run with a fresh profile and DNS that knows
 * only 127.0.0.1, the console lines that show trouble, and a PNG decoder to look at a
 * screenshot. A test file skips its browser tests, saying INSTALL_HINT, when `findChromium()`
 * finds none.
 */

const INSTALL_HINT =
  "headless Chromium not found: install it with `apt-get install -y chromium` (as root or " +
  "with sudo, on Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome binary";

/** CHROMIUM_PATH, else the first Chromium or Chrome on PATH. */
/**
 * The flags every browser test gives Chromium: no sandbox or GPU (containers), and nothing it
 * would fetch on its own (updates, sync, QUIC probes, extensions), so a run stays offline.
 */
export const ISOLATED_CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
];

export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const found = Bun.which(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * `test`, or `test.skip` with a name saying why (and one line on stderr) when there is no
 * Chromium; `label` names the file in that line.
 */
export function browserTests(label: string) {
  const chromium = findChromium();
  if (!chromium) process.stderr.write(`[${label}] SKIPPING the browser tests: ${INSTALL_HINT}\n`);
  return {
    browserTest: chromium ? test : test.skip,
    browserName: (name: string) => (chromium ? name : `${name} (skipped: ${INSTALL_HINT})`),
  };
}

/** A host name that is not loopback, mapped to 127.0.0.1 for Chromium only. */
export const PUBLIC_LOOKING_HOST = "docs.simplebank.test";
/** How long one Chromium run may take before it is killed. */
export const CHROMIUM_TIME_LIMIT_MS = 60_000;

export interface ChromiumRun {
  stdout: string;
  stderr: string;
  /** What the page logged to its console (CSP violations land here too). */
  console: string[];
}

/**
 * One headless Chromium run with a fresh profile, no background traffic, and DNS that knows
 * only 127.0.0.1 (and PUBLIC_LOOKING_HOST → 127.0.0.1): a request to a CDN would fail.
 */
export async function runChromium(args: string[]): Promise<ChromiumRun> {
  const chromium = findChromium();
  if (!chromium) throw new Error(INSTALL_HINT);
  const profile = await mkdtemp(path.join(tmpdir(), "docs-chromium-"));
  try {
    const child = Bun.spawn(
      [
        chromium,
        "--headless",
        ...ISOLATED_CHROMIUM_FLAGS,
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--host-resolver-rules=MAP ${PUBLIC_LOOKING_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        ...args,
      ],
      {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        timeout: CHROMIUM_TIME_LIMIT_MS,
        killSignal: "SIGKILL",
      },
    );
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    if (exitCode !== 0) {
      const why = child.signalCode ? `killed by ${child.signalCode}` : `exit ${exitCode}`;
      throw new Error(`chromium failed (${why}):\n${stderr.slice(-4000)}`);
    }
    const console = stderr
      .split("\n")
      .filter((line) => line.includes(":CONSOLE:"))
      .map((line) => line.replace(/^\[[^\]]*\]\s*/, ""));
    return { stdout, stderr, console };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Console lines that show the page was hurt: CSP blocks, network failures, JS errors. */
export const troubleIn = (run: ChromiumRun) =>
  run.console.filter((line) =>
    /Content Security Policy|Refused to|net::ERR_|Uncaught|Failed to (load|fetch)/i.test(line),
  );

export interface Png {
  width: number;
  height: number;
  /** RGB of pixel (x, y). */
  rgb(x: number, y: number): [number, number, number];
}

/** A minimal PNG decoder: 8-bit RGB or RGBA, not interlaced (what Chromium writes). */
export function decodePng(bytes: Uint8Array): Png {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) throw new Error("not a PNG (bad signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  for (let at = 8; at < bytes.length; ) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, colorType, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || (colorType !== 2 && colorType !== 6)) {
        throw new Error(
          `unsupported PNG: depth ${depth}, color ${colorType}, interlace ${interlace}`,
        );
      }
      channels = colorType === 6 ? 4 : 3;
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error("PNG image data has the wrong size");
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= channels ? (pixels[y * stride + x - channels] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] ?? 0) : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter}`);
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => {
      const i = y * stride + x * channels;
      return [pixels[i] ?? 0, pixels[i + 1] ?? 0, pixels[i + 2] ?? 0];
    },
  };
}

/**
 * How many sampled pixels (every other one, both ways) are within 6 of each named colour, and
 * how many were sampled: enough to tell a rendered page from a blank or unstyled one.
 */
function countColours<Name extends string>(
  png: Png,
  palette: Record<Name, [number, number, number]>,
): { counts: Record<Name, number>; sampled: number } {
  const entries = Object.entries(palette) as [Name, [number, number, number]][];
  const counts = Object.fromEntries(entries.map(([name]) => [name, 0])) as Record<Name, number>;
  const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - (b[i] ?? 0)) <= 6);
  let sampled = 0;
  for (let y = 0; y < png.height; y += 2) {
    for (let x = 0; x < png.width; x += 2) {
      sampled++;
      const rgb = png.rgb(x, y);
      const match = entries.find(([, colour]) => near(rgb, colour));
      if (match) counts[match[0]]++;
    }
  }
  return { counts, sampled };
}

/**
 * A screenshot of /docs shows Swagger UI rendered: its GET (blue) and POST (green) method badges
 * and dark title text, which a blank or unstyled page has none of, and not mostly white.
 */
export function expectSwaggerUiRendered(png: Png): void {
  const { counts, sampled } = countColours(png, {
    get: [0x61, 0xaf, 0xfe],
    post: [0x49, 0xcc, 0x90],
    dark: [0x3b, 0x41, 0x51],
    white: [255, 255, 255],
  });
  expect(counts.get).toBeGreaterThan(1_000);
  expect(counts.post).toBeGreaterThan(1_000);
  expect(counts.dark).toBeGreaterThan(1_000);
  expect(counts.white / sampled).toBeLessThan(0.95);
}
