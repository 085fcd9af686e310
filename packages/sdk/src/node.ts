/**
 * Node-only helpers: gRPC (HTTP/2) and HTTP/1.1 transports from
 * @connectrpc/connect-node, and the `ws` WebSocket for the realtime client
 * (Node 20 has no global WebSocket). Browsers use only `@parley/sdk`.
 */
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import WebSocket from "ws";
import { AccessTokenSlot, bearerTokenInterceptor, clientsOver, type AccessTokenSource, type ParleyClient } from "./clients.js";

export type NodeProtocol = "grpc" | "connect" | "grpc-web";

export interface NodeClientOptions {
  baseUrl: string;
  /** "grpc" speaks HTTP/2 (h2c for http:// URLs); the others HTTP/1.1. Default "grpc". */
  protocol?: NodeProtocol;
  getAccessToken?: AccessTokenSource;
  interceptors?: Interceptor[];
}

/** A Node transport with the bearer-token interceptor; `tokens` lets a session swap the source later. */
export function createNodeTransport(options: NodeClientOptions, tokens = new AccessTokenSlot(options.getAccessToken)): Transport {
  const common = {
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    interceptors: [bearerTokenInterceptor(() => tokens.get()), ...(options.interceptors ?? [])],
  };
  switch (options.protocol ?? "grpc") {
    case "grpc":
      return createGrpcTransport(common);
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
    case "connect":
      return createConnectTransport({ ...common, httpVersion: "1.1" });
  }
}

/** Every Parley client over a Node transport (gRPC by default). Works with `createSession`. */
export function createNodeParleyClient(options: NodeClientOptions): ParleyClient {
  const tokens = new AccessTokenSlot(options.getAccessToken);
  return clientsOver(createNodeTransport(options, tokens), tokens);
}

/** The WebSocket constructor to hand the realtime client in Node. */
export const NodeWebSocket = WebSocket;
