/**
 * The only way edge code touches a uWS WebSocket. uWS frees a socket when it
 * closes and reuses that memory for the next socket it accepts: a call on a
 * closed socket's handle from a timer or an async continuation (catch-up
 * awaiting chat, a token check, the sweeper, the drain, the turn's corked
 * flush) could act on someone else's socket. So the close handler marks the
 * handle closed before anything else runs, every method checks that flag first,
 * and the raw WebSocket is dropped at close, so nothing can keep it alive.
 */
import type { RecognizedString, WebSocket } from "uWebSockets.js";

/** What a send did: delivered/buffered, or dropped by uWS backpressure (the socket is then closing). */
export type SendResult = "ok" | "dropped" | "closed";

export class SocketHandle<UserData> {
  private ws: WebSocket<UserData> | undefined;

  constructor(ws: WebSocket<UserData>) {
    this.ws = ws;
  }

  get closed(): boolean {
    return this.ws === undefined;
  }

  /** Called first thing in the uWS close handler: from here on every method is a no-op. */
  markClosed(): void {
    this.ws = undefined;
  }

  send(data: RecognizedString, isBinary: boolean): SendResult {
    const ws = this.ws;
    if (!ws) return "closed";
    // 2 = dropped (over maxBackpressure); 0 = buffered under backpressure, 1 = written.
    return ws.send(data, isBinary) === 2 ? "dropped" : "ok";
  }

  /** Runs `fn` corked; not at all once closed. */
  cork(fn: () => void): void {
    const ws = this.ws;
    if (!ws) return;
    ws.cork(fn);
  }

  bufferedAmount(): number {
    return this.ws?.getBufferedAmount() ?? 0;
  }

  /** Graceful close; uWS runs the close handler synchronously (which calls markClosed). */
  end(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    // Marked before end(): even if a close handler threw, no later call may reach the handle.
    this.ws = undefined;
    ws.end(code, reason);
  }
}
