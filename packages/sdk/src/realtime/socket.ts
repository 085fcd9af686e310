/**
 * The WebSocket surface the client uses: the common part of the browser's
 * WebSocket and the `ws` package. The constructor is taken loosely (`object`
 * instances) because the two libraries' event types differ in detail; the
 * client only touches what is declared here.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

export const OPEN = 1;

export function openSocket(ctor: WebSocketConstructor, url: string, protocols: string[]): WebSocketLike {
  const ws = new ctor(url, protocols) as WebSocketLike;
  // Node's `ws` starts as "nodebuffer": keep it, decodeServerFrame reads the Buffer in place.
  // "arraybuffer" made `ws` copy every frame into a fresh ArrayBuffer (~5% of a client's CPU
  // in the fan-out bench). Browsers start as "blob", which needs an async read: ask for arraybuffer.
  if (ws.binaryType !== "nodebuffer") ws.binaryType = "arraybuffer";
  return ws;
}

/** Seconds-since-epoch `exp` of a JWT, without verifying it (only used to schedule a refresh). */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp: unknown = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
