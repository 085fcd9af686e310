/**
 * Serves the built web client: files under `root`, and index.html for GET of
 * paths that are not files (client-side routes of the SPA).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { pathOf, sendText, type AnyRequest, type AnyResponse } from "./types.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

async function isFile(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** Origins (or full URLs) of a configured URL, as a CSP source: scheme://host[:port]. */
function cspSource(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}

/**
 * Security headers of every static response. The Vite build loads only its
 * own module scripts, so scripts are 'self' only; styles allow 'unsafe-inline'
 * because the UI library (naive-ui) injects <style> elements at runtime; the
 * app talks to its own API and the WebSocket edge (connect-src from config).
 */
export function staticSecurityHeaders(connectSrc: readonly string[]): Record<string, string> {
  const connect = ["'self'", ...new Set(connectSrc.map(cspSource).filter((s): s is string => Boolean(s)))];
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${connect.join(" ")}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
  };
}

export function createStaticHandler(rootDir: string, logger: Logger, opts: { connectSrc?: readonly string[] } = {}) {
  const root = resolve(rootDir);
  const headers = Object.entries(staticSecurityHeaders(opts.connectSrc ?? []));
  return async function serveStatic(req: AnyRequest, res: AnyResponse): Promise<void> {
    for (const [name, value] of headers) res.setHeader(name, value);
    if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 404, "not found");
    let rel: string;
    try {
      rel = decodeURIComponent(pathOf(req));
    } catch {
      return sendText(res, 400, "bad path encoding");
    }
    // normalize + prefix check keeps "/../" and encoded variants inside the root.
    let file = join(root, normalize(rel));
    if (file !== root && !file.startsWith(root + sep)) return sendText(res, 404, "not found");
    let size = await isFile(file);
    // Paths with an extension are files (a missing asset is a 404, not the app shell).
    if (size === undefined && extname(rel) === "") {
      file = join(root, "index.html");
      size = await isFile(file);
    }
    if (size === undefined) return sendText(res, 404, "not found");
    res.statusCode = 200;
    res.setHeader("content-type", CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream");
    res.setHeader("content-length", size);
    // Hashed build assets can be cached forever; the shell must be revalidated to pick up new builds.
    res.setHeader("cache-control", file.includes(`${sep}assets${sep}`) ? "public, max-age=31536000, immutable" : "no-cache");
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    try {
      await pipeline(createReadStream(file), res);
    } catch (err) {
      logger.debug({ err, file }, "static file response aborted");
    }
  };
}
