/**
 * Body of every bench message: a unique key, the send time and the sender, as a short
 * delimited string (`~B<key>|<sentAtMs>|<from>~`). It has no quotes, backslashes or non-ASCII,
 * so it travels byte for byte inside Parley's protobuf text field and inside Socket.IO's JSON,
 * and a light client can pick it out without a JSON parse.
 */
export interface Payload {
  /** Unique per message: receivers dedupe and count on it. */
  k: string;
  /** performance.timeOrigin + now() at send (comparable across processes on one machine). */
  t: number;
  /** Sender's user id: deliveries to the sender itself are not counted. */
  f: string;
}

const OPEN = "~B";
const CLOSE = "~";

export function encodePayload(p: Payload): string {
  if (/[|~"\\]/.test(p.k + p.f)) throw new Error(`payload key/sender must not contain | ~ " \\: ${p.k} ${p.f}`);
  return `${OPEN}${p.k}|${p.t.toFixed(3)}|${p.f}${CLOSE}`;
}

/** Undefined for anything that is not a bench payload. */
export function decodePayload(body: string): Payload | undefined {
  if (!body.startsWith(OPEN) || !body.endsWith(CLOSE)) return undefined;
  const parts = body.slice(OPEN.length, -CLOSE.length).split("|");
  if (parts.length !== 3) return undefined;
  const [k, t, f] = parts as [string, string, string];
  const sentAt = Number(t);
  return Number.isFinite(sentAt) ? { k, t: sentAt, f } : undefined;
}
