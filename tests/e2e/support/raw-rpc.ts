/**
 * Hand-made RPC requests, for bodies no generated client would send:
 * Connect unary over HTTP/1.1 (fetch) and gRPC over h2c (node:http2), with
 * the answer reduced to a status code name.
 */
import { connect, constants } from "node:http2";
import { createGzip } from "node:zlib";

export interface RawAnswer {
  /** HTTP status. */
  status: number;
  /** Connect/gRPC code name ("invalid_argument"), or "ok". */
  code: string;
  message: string;
}

const grpcCodeNames = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
  "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
];

/** POST a Connect unary request with exactly these body bytes. */
export async function connectUnary(
  baseUrl: string,
  procedure: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<RawAnswer> {
  const res = await fetch(`${baseUrl}/${procedure}`, {
    method: "POST",
    headers: { "connect-protocol-version": "1", ...headers },
    body: new Uint8Array(body),
  });
  const text = await res.text();
  if (res.ok) return { status: res.status, code: "ok", message: "" };
  let parsed: { code?: unknown; message?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not a Connect error body (e.g. 415 from a content-type the router does not serve).
  }
  return {
    status: res.status,
    code: typeof parsed.code === "string" ? parsed.code : `http_${res.status}`,
    message: typeof parsed.message === "string" ? parsed.message : text.slice(0, 200),
  };
}

/** gRPC length-prefixed message: flag byte (1 = compressed), 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, compressed: boolean): Uint8Array {
  const frame = new Uint8Array(5 + payload.byteLength);
  frame[0] = compressed ? 1 : 0;
  new DataView(frame.buffer).setUint32(1, payload.byteLength);
  frame.set(payload, 5);
  return frame;
}

/** One gRPC call over h2c with exactly these body bytes; the code comes from grpc-status. */
export async function grpcCall(
  baseUrl: string,
  procedure: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const session = connect(baseUrl);
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      session.once("error", reject);
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: `/${procedure}`,
        "content-type": "application/grpc+proto",
        te: "trailers",
        ...headers,
      });
      let status = 0;
      let settled = false;
      // The server may answer before it has read the whole body (size limits): take the
      // answer as soon as grpc-status is known and cancel the rest of the upload.
      const settle = (h: Record<string, unknown>): void => {
        if (settled || h["grpc-status"] === undefined) return;
        settled = true;
        const n = Number(h["grpc-status"]);
        resolve({ status, code: grpcCodeNames[n] ?? `grpc_${String(h["grpc-status"])}`, message: decodeURIComponent(String(h["grpc-message"] ?? "")) });
        stream.close(constants.NGHTTP2_CANCEL);
      };
      stream.on("response", (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        settle(h); // trailers-only responses put grpc-status in the headers
      });
      stream.on("trailers", (t) => settle(t));
      stream.on("data", () => {});
      stream.on("error", (err) => {
        if (!settled) reject(err);
      });
      stream.on("close", () => {
        // No grpc-status at all: the router refused the request as HTTP (415 for a content type it does not serve).
        if (!settled) resolve({ status, code: `http_${status}`, message: "" });
      });
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** gzip of `prefix + filler × repeat + suffix`, built in 1 MiB steps so the test never holds the inflated bytes. */
export async function gzipBomb(prefix: Uint8Array, inflatedBytes: number, suffix: Uint8Array): Promise<Uint8Array> {
  const step = new Uint8Array(1 << 20).fill(0x61); // "a"
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.once("end", resolve);
    gzip.once("error", reject);
  });
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve) => {
      if (gzip.write(chunk)) resolve();
      else gzip.once("drain", () => resolve());
    });
  await write(prefix);
  for (let left = inflatedBytes; left > 0; left -= step.byteLength) await write(left >= step.byteLength ? step : step.subarray(0, left));
  await write(suffix);
  gzip.end();
  await done;
  return new Uint8Array(Buffer.concat(out));
}

/** Varint, for hand-made protobuf length prefixes. */
export function varint(n: number): Uint8Array {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return new Uint8Array(bytes);
}

/** Peak RSS of this process while `run` runs, above the RSS right before it (sampled every ms). */
export async function rssGrowthDuring<T>(run: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 1);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growthBytes: peak - before };
  } finally {
    clearInterval(sample);
  }
}
