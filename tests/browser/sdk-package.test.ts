/**
 * The SDK as a partner gets it: `pnpm pack`, `npm install` of the tarball into an empty project
 * outside the workspace, then the README quickstart (its files, extracted verbatim) against the
 * running product, in Node and in a Vite-built page in Chromium. It lives in the browser suite
 * because `make test` installs Chromium only before that suite.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import type { EmbeddedParley } from "@parley/embedded";
import { startParley } from "../e2e/support/parley.js";
import { launchChromium } from "./harness.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const sdkDir = join(repoRoot, "packages/sdk");
/** The page's bundler, pinned to the workspace's so npm's cache usually has it. */
const viteVersion = (JSON.parse(readFileSync(join(repoRoot, "web/node_modules/vite/package.json"), "utf8")) as { version: string }).version;
const received = /^ada_[a-z0-9]+ received "Hello, Parley!" \(#\d+\)$/;

/** Only what a partner's shell would have: nothing of the workspace (no NODE_OPTIONS loaders, no NODE_PATH). */
function partnerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), ...extra };
}

/** `<!-- quickstart-file: name -->` followed by a fenced block, from the SDK README. */
function quickstartFiles(): Map<string, string> {
  const readme = readFileSync(join(sdkDir, "README.md"), "utf8");
  const files = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- quickstart-file: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)) files.set(m[1]!, `${m[2]!}\n`);
  return files;
}

function serveStatic(dir: string): Promise<Server> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = path === "/" ? "index.html" : path.replace(/\.\.+/g, "");
    try {
      const body = readFileSync(join(dir, file));
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("@parley/sdk from its tarball", () => {
  let parley: EmbeddedParley;
  let project: string;
  let tarball: string;
  let browser: Browser | undefined;
  let pageServer: Server | undefined;

  beforeAll(async () => {
    project = realpathSync(mkdtempSync(join(tmpdir(), "parley-sdk-partner-")));
    if (!relative(repoRoot, project).startsWith("..")) throw new Error(`partner project ${project} must be outside the workspace`);
    const [started] = await Promise.all([
      startParley(),
      (async () => {
        await run("pnpm", ["pack", "--pack-destination", project], { cwd: sdkDir, timeout: 60_000 });
        const name = readdirSync(project).find((f) => f.endsWith(".tgz"));
        if (!name) throw new Error(`pnpm pack wrote no tarball into ${project}`);
        tarball = join(project, name);
        writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "parley-sdk-partner", private: true, type: "module" }, null, 2)}\n`);
        await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, `vite@${viteVersion}`], {
          cwd: project,
          env: partnerEnv(),
          timeout: 90_000,
        }).catch((err: unknown) => {
          throw new Error(`npm install of ${tarball} failed`, { cause: err });
        });
        for (const [file, text] of quickstartFiles()) writeFileSync(join(project, file), text);
      })(),
    ]);
    parley = started;
  });

  afterAll(async () => {
    await browser?.close();
    pageServer?.close();
    await parley?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("packs compiled ESM + declarations and names no workspace package", async () => {
    const manifest = JSON.parse((await run("tar", ["-xzOf", tarball, "package/package.json"])).stdout) as Record<string, unknown>;
    const deps = { ...(manifest.dependencies as object), ...(manifest.peerDependencies as object), ...(manifest.optionalDependencies as object) };
    expect(Object.keys(deps).filter((d) => d.startsWith("@parley/"))).toEqual([]);
    expect(Object.values(deps).filter((r) => /^(workspace|catalog):/.test(String(r)))).toEqual([]);
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.scripts).toBeUndefined();
    expect(JSON.stringify(manifest.exports)).not.toContain("src/");
    const files = (await run("tar", ["-tzf", tarball])).stdout.split("\n").filter(Boolean);
    for (const f of ["package/dist/index.js", "package/dist/index.d.ts", "package/dist/node.js", "package/dist/gen/parley/realtime/v1/frames_pb.js", "package/CHANGELOG.md"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("package/src/") || (f.endsWith(".ts") && !f.endsWith(".d.ts")))).toEqual([]);
    expect(quickstartFiles().size).toBe(4);
  });

  it("type-checks a partner's strict TypeScript against the installed declarations", async () => {
    writeFileSync(
      join(project, "partner.ts"),
      [
        'import { createParleyClient, RealtimeClient, RealtimeUpgradeRequiredError, type RealtimeError } from "@parley/sdk";',
        'import { NodeWebSocket, createNodeParleyClient } from "@parley/sdk/node";',
        'import type { Message } from "@parley/sdk/gen/parley/chat/v1/message_pb";',
        'const client = createParleyClient({ baseUrl: "http://localhost:8080" });',
        "export const username = async (): Promise<string> => (await client.users.getMe({})).user?.username ?? \"\";",
        'export const grpc = createNodeParleyClient({ baseUrl: "http://localhost:8080" });',
        'const realtime = new RealtimeClient({ url: "ws://localhost:8081/ws", getAccessToken: async () => "", WebSocket: NodeWebSocket });',
        "realtime.on(\"message\", (m: Message) => console.log(m.seq + 1n, m.text.length));",
        "realtime.on(\"error\", (e: RealtimeError) => console.log(e instanceof RealtimeUpgradeRequiredError ? e.offered : e.code));",
        "",
      ].join("\n"),
    );
    // No skipLibCheck: the shipped .d.ts themselves must compile in a strict NodeNext project.
    const tsconfig = { compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2023", "DOM"], types: [], noEmit: true }, files: ["partner.ts"] };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
    await run(process.execPath, [tsc, "-p", project], { cwd: project, timeout: 60_000 }).catch((err: { stdout?: string }) => {
      throw new Error(`tsc against the installed @parley/sdk failed:\n${err.stdout ?? String(err)}`);
    });
  });

  it("runs the README quickstart in Node: registers, logs in, sends and receives a realtime message", async () => {
    const child = spawn(process.execPath, ["node.mjs"], { cwd: project, env: partnerEnv({ PARLEY_URL: parley.apiUrl, PARLEY_WS_URL: parley.wsUrl }) });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill(), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    expect(code, `node node.mjs exited ${code}; stdout: ${out} stderr: ${err}`).toBe(0);
    expect(out.trim()).toMatch(received);
  });

  it("runs the README quickstart in a Vite-built page in Chromium (and Chromium shows the app a refused version's reason)", async () => {
    await run(process.execPath, [join(project, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], {
      cwd: project,
      env: partnerEnv(),
      timeout: 60_000,
    }).catch((e: { stderr?: string }) => {
      throw new Error(`vite build of the quickstart page failed:\n${e.stderr ?? String(e)}`);
    });
    // The SDK is bundled into the page (its realtime client names the auth subprotocol).
    const bundles = readdirSync(join(project, "dist/assets")).filter((f) => f.endsWith(".js"));
    expect(bundles.some((f) => readFileSync(join(project, "dist/assets", f), "utf8").includes("parley.auth."))).toBe(true);
    pageServer = await serveStatic(join(project, "dist"));
    browser = await launchChromium();
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    const { port } = pageServer.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/?api=${encodeURIComponent(parley.apiUrl)}&ws=${encodeURIComponent(parley.wsUrl)}`);
    const out = page.locator("#out");
    await expect
      .poll(async () => (await out.textContent()) ?? "", { timeout: 30_000, interval: 200 })
      .toMatch(received)
      .catch(async (e: unknown) => {
        throw new Error(`page shows "${await out.textContent()}"; console: ${logs.join(" | ")}`, { cause: e });
      });
    // What the edge's 4426 refusal relies on: a browser completes the handshake (the server echoes
    // the offer) and hands the app the close code and reason. An SDK offering only a version the
    // edge does not speak learns why; the SDK turns that into RealtimeUpgradeRequiredError.
    const refused = await page.evaluate(
      (url) =>
        new Promise<{ code: number; reason: string }>((resolve) => {
          const ws = new WebSocket(url, ["parley.v9.proto", "parley.auth.x"]);
          ws.onclose = (ev) => resolve({ code: ev.code, reason: ev.reason });
        }),
      parley.wsUrl,
    );
    expect(refused).toEqual({ code: 4426, reason: "upgrade the Parley SDK: this server speaks realtime protocol v1, not parley.v9.proto" });
  });
});
