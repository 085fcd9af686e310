/**
 * The client address behind trusted reverse proxies. A proxy appends the
 * address it received the connection from to X-Forwarded-For, so only the
 * entries our own proxies added can be believed: everything to their left was
 * sent by the client. Walking from the socket address leftwards past trusted
 * hops (proxy-addr, the algorithm Express uses) gives the first address no
 * trusted proxy vouches for. The leftmost entry, which this used to take, is
 * whatever the client wrote.
 */
import proxyAddr from "proxy-addr";
import type { IncomingMessage } from "node:http";
import type { AnyRequest } from "./types.js";

/**
 * TRUST_PROXY: a number of proxy hops in front of us (0 = none), or the
 * addresses/CIDRs of the trusted proxies (proxy-addr names "loopback",
 * "linklocal", "uniquelocal" allowed).
 */
export type TrustProxy = number | readonly string[];

/** Parses TRUST_PROXY: "false" = 0 hops, "true" = 1 hop (one ingress), "2", or "10.0.0.0/8,192.168.1.7". */
export function parseTrustProxy(raw: string): TrustProxy {
  const v = raw.trim().toLowerCase();
  if (v === "false" || v === "") return 0;
  if (v === "true") return 1;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(",").map((s) => s.trim()).filter(Boolean);
  // Fails here, at start-up, on a malformed address or CIDR.
  proxyAddr.compile(list);
  return list;
}

export type ClientIpResolver = (req: AnyRequest) => string;

export function createClientIpResolver(trust: TrustProxy): ClientIpResolver {
  const trusted: (addr: string, hop: number) => boolean =
    typeof trust === "number" ? (_addr, hop) => hop < trust : proxyAddr.compile([...trust]);
  return (req) => {
    // Both the HTTP/1.1 and the h2c request carry `headers` and `socket.remoteAddress`, all proxy-addr reads.
    const addr = proxyAddr(req as IncomingMessage, trusted) || "unknown";
    // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; one client, one rate-limit key.
    return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  };
}
