/** IPC between the bench runner and its client-worker processes. */
/** Which wire protocol a client speaks. */
export type DriverKind = "socketio" | "parley";
/**
 * "light": plain `ws` clients with minimal decode and batched acks (light/), the default for
 * every server-bound scenario; "sdk": the real client libraries (Parley's RealtimeClient +
 * RPC client, socket.io-client), labelled as such in the report.
 */
export type ClientProfile = "light" | "sdk";

export interface ClientSpec {
  userId: string;
  /** Access token (Parley); Socket.IO takes the user id as its handshake auth. */
  token: string;
  /** WebSocket / Socket.IO URL of the node this client connects to. */
  url: string;
  /** Conversations to join. Socket.IO joins rooms; Parley's edge already knows membership. */
  rooms: string[];
}

export interface DirectPair {
  /** Indices into the worker's connected clients. */
  from: number;
  to: number;
  room: string;
}

export type ToWorker =
  | { t: "connect"; driver: DriverKind; profile: ClientProfile; clients: ClientSpec[]; localAddresses: string[]; concurrency: number; apiUrl: string }
  | { t: "direct"; pairs: DirectPair[]; ratePerSec: number; durationMs: number; keyPrefix: string }
  | { t: "collect" }
  | { t: "close" };

export type FromWorker =
  | { t: "connected"; ok: number; failed: number; firstError: string | undefined; ms: number }
  | { t: "directSent"; sent: number; sendErrors: number; firstError: string | undefined; sendLatenciesMs: number[] }
  | {
      t: "received";
      /** [key, deliveries, last delivery time] per message key, deliveries to the sender excluded. */
      perMessage: Array<[string, number, number]>;
      /** receive time − send time, per delivery: an HdrHistogram, compressed base64 ("" = none). */
      latencies: string;
      /** Deliveries of a key a client already had, after the SDK's own dedupe. */
      duplicates: number;
      /** Sockets that closed while they should have stayed open. */
      dropped: number;
    }
  | { t: "closed" }
  | { t: "error"; message: string };

export const isMsg =
  <K extends FromWorker["t"]>(kind: K) =>
  (m: FromWorker): m is Extract<FromWorker, { t: K }> =>
    m.t === kind;
