/**
 * Every limit and timer of the edge in one place, with why it has its value.
 * Tests pass smaller values (resend, gap limit) through `opts.tuning`.
 */
import type { BucketRate, LimitedFrameKind } from "./handlers/frame-limits.js";

export interface RealtimeTuning {
  /** A bigger client frame closes the socket with 1009 and a reason; no client frame needs more. */
  maxPayloadBytes: number;
  /**
   * uWS's own limit, where it drops the connection without a close frame.
   * Set above maxPayloadBytes so oversized frames normally get a proper 1009
   * with a reason. It is also what uWS buffers per socket for a frame (or a
   * fragmented message) that has not fully arrived, however long the client
   * stalls until the idle timeout: memory per socket, so kept at twice the
   * soft limit (it was 1 MiB: 1,000 stalled sockets held 1 GiB).
   */
  hardMaxPayloadBytes: number;
  /** Bytes queued in the kernel/uWS for one socket before it is a slow consumer (4008). */
  maxBufferedBytes: number;
  /** Unacked data frames per socket before it is a slow consumer (4008). Bounds memory per socket. */
  maxPending: number;
  /** An unacked frame is re-sent after this. */
  resendAfterMs: number;
  /** Re-sends of one frame before the socket is closed (4008) so the client resumes instead. */
  maxResends: number;
  /** History page size while catching up (chat's ListMessages limit). */
  catchUpPageSize: number;
  /** Above this many missing messages in one conversation the client gets a Gap and pages history itself. */
  gapLimit: number;
  /** Conversations caught up at once for one socket. */
  catchUpConcurrency: number;
  /** A socket that has not sent Hello by then is closed (4400): it would buffer live frames forever. */
  helloTimeoutMs: number;
  presenceHeartbeatMs: number;
  presenceTtlMs: number;
  /** How often each socket's token is re-checked for expiry and revocation. */
  tokenCheckMs: number;
  /** Time after `exp` a socket may keep running while the client reauthenticates. */
  tokenGraceMs: number;
  typingMinIntervalMs: number;
  typingTtlMs: number;
  /** Members (typing recipients) cached per socket for this long (a membership change delivered to the socket drops it). */
  peerCacheMs: number;
  /** Members of a viewed conversation whose presence one subscription covers (bounds the snapshot and the index). */
  maxPresenceMembers: number;
  /** Delivery ids in one Ack frame (the SDK sends at most 1,000); more is an invalid frame. */
  maxAckIds: number;
  /** Invalid frames tolerated per socket before it is closed (4400). */
  maxBadFrames: number;
  /** Per-socket budget of each limited frame kind (handlers/frame-limits.ts); over it → Error{resource_exhausted}. */
  frameRates: Record<LimitedFrameKind, BucketRate>;
  /** Refused frames a socket may send (burst, refilling at perSecond) before it is closed 4429. */
  frameStrikes: BucketRate;
  /** Open sockets per user across all nodes (WS_MAX_SOCKETS_PER_USER); one more is closed 4429 at open. */
  maxSocketsPerUser: number;
  drainBatchSize: number;
  drainBatchIntervalMs: number;
  /** Clients wait a random 0..retryAfterMs before reconnecting, so a drained node's clients spread out. */
  drainRetryAfterMs: number;
  /** How long a drained socket gets to ack what it holds before it is closed. */
  drainAckWaitMs: number;
}

export const defaultTuning: RealtimeTuning = {
  maxPayloadBytes: 64 * 1024,
  hardMaxPayloadBytes: 128 * 1024,
  maxBufferedBytes: 1024 * 1024,
  maxPending: 4096,
  resendAfterMs: 5_000,
  maxResends: 3,
  catchUpPageSize: 200,
  gapLimit: 2_000,
  catchUpConcurrency: 4,
  helloTimeoutMs: 15_000,
  presenceHeartbeatMs: 20_000,
  presenceTtlMs: 60_000,
  tokenCheckMs: 10_000,
  tokenGraceMs: 30_000,
  typingMinIntervalMs: 1_000,
  typingTtlMs: 5_000,
  peerCacheMs: 30_000,
  maxPresenceMembers: 1_000,
  maxAckIds: 8_192,
  maxBadFrames: 20,
  // Well above what the SDK sends (typing ≤ 1/s, one subscribe per view, one reauth per token TTL).
  frameRates: {
    ping: { perSecond: 1, burst: 10 },
    typing: { perSecond: 2, burst: 10 },
    presenceSubscribe: { perSecond: 2, burst: 10 },
    reauthenticate: { perSecond: 0.1, burst: 3 },
  },
  frameStrikes: { perSecond: 0.2, burst: 20 },
  maxSocketsPerUser: 20,
  drainBatchSize: 500,
  drainBatchIntervalMs: 50,
  drainRetryAfterMs: 2_000,
  drainAckWaitMs: 1_000,
};
