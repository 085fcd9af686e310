/**
 * Connect unary calls as plain HTTP/1.1 POSTs with JSON bodies (the Connect protocol's JSON
 * encoding): no generated client, no interceptors, one keep-alive agent per source address.
 * Used by the light profile for SendMessage, where the SDK's RPC client would cost the load
 * generator more CPU than the call itself.
 */
import { Agent, request } from "node:http";

const agents = new Map<string, Agent>();
const TIMEOUT_MS = 10_000;
/** Per source address: enough that an open-loop sender at thousands of msg/s against a slow server does not queue in the client (that would be billed to the server as latency). */
const MAX_SOCKETS = 512;

function agentFor(localAddress: string): Agent {
  let a = agents.get(localAddress);
  if (!a) agents.set(localAddress, (a = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, localAddress } as ConstructorParameters<typeof Agent>[0])));
  return a;
}

/** POSTs `body` to `${baseUrl}/${path}`; resolves with the parsed answer, rejects with the Connect error. */
export function connectPost(baseUrl: string, path: string, token: string, localAddress: string, body: object): Promise<unknown> {
  const url = new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: agentFor(localAddress),
        timeout: TIMEOUT_MS,
        headers: {
          "content-type": "application/json",
          "connect-protocol-version": "1",
          "content-length": Buffer.byteLength(payload),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) return resolve(text === "" ? {} : (JSON.parse(text) as unknown));
          reject(new Error(`${path}: HTTP ${res.statusCode ?? 0} ${text.slice(0, 200)}`));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${path}: no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}
