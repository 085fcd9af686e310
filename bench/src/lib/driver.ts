/** What the client worker needs from each stack under test. */
import type { ClientSpec } from "./protocol.js";

export interface Conn {
  spec: ClientSpec;
  /** Sends one message to a conversation as this client's user. */
  send(room: string, body: string): Promise<void>;
  close(): void;
}

export interface ConnectOptions {
  localAddress: string;
  /** Called for every message the stack hands the application (after its own dedupe). */
  onMessage(room: string, body: string): void;
  /** Called if the connection ends while it should be open. */
  onDrop(): void;
}

export interface Driver {
  connect(spec: ClientSpec, opts: ConnectOptions): Promise<Conn>;
}
