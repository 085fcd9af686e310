import type { ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface RealtimeConnectionOptions {
  url: string;
  deviceId: string;
  accessToken: () => Promise<string | undefined>;
  /** conversation id -> last seq held, sent on every (re)connect so the edge resumes. */
  cursors: () => Record<string, bigint>;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: ConnectionState) => void;
  onUnauthorized?: () => void;
}

export interface RealtimeConnection {
  sendTyping(conversationId: string): void;
  close(): void;
}
