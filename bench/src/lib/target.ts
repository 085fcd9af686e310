/** One stack under test, as the scenarios see it. */
import type { Backend } from "./cpu.js";
import type { DriverKind } from "./protocol.js";

/**
 * parley: the embedded process (every service, one edge node) on the backends --parley-backends
 * names (default real: Postgres + NATS JetStream + Redis); parley-split: the same with the edge in
 * a process of its own (the Kubernetes shape); parley-embedded: the same process with
 * no backends at all (PGlite, in-process bus, memory stores — `make dev`); socketio: one Socket.IO
 * server, no adapter; socketio-redis: --socket-io-instances servers joined by the Redis adapter;
 * uws: raw uWebSockets.js pub/sub speaking the Socket.IO subset the light client uses (the floor);
 * parley-cluster: `make cluster` (scripts/cluster) — every service and edge node a process of its
 * own from the compiled build, --cluster-replicas each, behind nginx.
 */
export type StackName = "parley" | "parley-split" | "parley-embedded" | "socketio" | "socketio-redis" | "uws" | "parley-cluster";
export const STACK_NAMES: readonly StackName[] = ["parley", "parley-split", "parley-cluster", "parley-embedded", "socketio", "socketio-redis", "uws"];

export interface BenchUser {
  userId: string;
  token: string;
}

export interface GroupHandle {
  room: string;
  /** Sends one message to the group as a member who is not one of the measured clients. */
  send(body: string): Promise<void>;
}

export interface ServerProcess {
  pid: number;
  role: string;
}

export interface BenchTarget {
  name: StackName;
  /** The wire protocol its clients speak. */
  driver: DriverKind;
  /** Connect API base URL ("" where there is none). */
  apiUrl: string;
  /** The nodes clients connect to; scenario (a) uses only the first. */
  edgeUrls: string[];
  /** Process id behind each edge URL, for RSS and fd readings. */
  edgePids: number[];
  /** Every server process of the stack (CPU accounting). */
  servers: ServerProcess[];
  /** Shared backends whose CPU is part of this stack's bill. */
  backends: Backend[];
  /** Collects garbage in the edge process (`--expose-gc`) and returns its RSS in bytes. */
  gcRss(pid: number): Promise<number>;
  /** Users able to connect. `social` users can also befriend each other (Parley registers them). */
  users(n: number, opts: { social: boolean }): Promise<BenchUser[]>;
  group(members: BenchUser[]): Promise<GroupHandle>;
  /** One 1-1 conversation per pair; returns the conversation (room) ids. */
  directs(pairs: Array<[BenchUser, BenchUser]>): Promise<string[]>;
  stop(): Promise<void>;
}
