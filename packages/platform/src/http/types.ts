import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/** A request/response from either the HTTP/1.1 or the h2c server (same compat API). */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

export function sendText(res: AnyResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  res.statusCode = status;
  res.setHeader("content-type", contentType);
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

export function sendJson(res: AnyResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), "application/json");
}

/** Path of the request URL without query string. */
export function pathOf(req: AnyRequest): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
