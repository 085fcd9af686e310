/** One stack under test, as the scenarios see it. */
import type { Target } from "./protocol.js";

export interface BenchUser {
  userId: string;
  token: string;
}

export interface GroupHandle {
  room: string;
  /** Sends one message to the group as a member who is not one of the measured clients. */
  send(body: string): Promise<void>;
}

export interface BenchTarget {
  name: Target;
  /** Connect API base URL ("" where there is none). */
  apiUrl: string;
  /** The nodes clients connect to; scenario (a) uses only the first. */
  edgeUrls: string[];
  /** Process id behind each edge URL, for RSS and fd readings. */
  edgePids: number[];
  /** Users able to connect. `social` users can also befriend each other (Parley registers them). */
  users(n: number, opts: { social: boolean }): Promise<BenchUser[]>;
  group(members: BenchUser[]): Promise<GroupHandle>;
  /** One 1-1 conversation per pair; returns the conversation (room) ids. */
  directs(pairs: Array<[BenchUser, BenchUser]>): Promise<string[]>;
  stop(): Promise<void>;
}
