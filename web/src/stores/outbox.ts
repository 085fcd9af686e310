import { defineStore } from "pinia";
import { watch } from "vue";
import { Code, ConnectError } from "@connectrpc/connect";
import { retryAfterSeconds } from "@parley/sdk/errors";
import { api } from "../api/parley";
import { describeError } from "../lib/errors";
import { useConversationsStore, type PendingMessage } from "./conversations";
import { useConnectionStore } from "./connection";

/** Attempts while the socket is up before a message is marked failed (offline waits don't count). */
export const maxSendAttempts = 4;
const backoffMs = [1_000, 2_000, 4_000, 8_000];

/** Worth another try with the same client_message_id: the server makes the retry idempotent. */
function isTransient(err: unknown): boolean {
  if (err instanceof TypeError) return true; // fetch never reached the server
  const code = ConnectError.from(err).code;
  return (
    code === Code.Unavailable ||
    code === Code.DeadlineExceeded ||
    code === Code.Aborted ||
    code === Code.ResourceExhausted ||
    code === Code.Unknown ||
    code === Code.Internal ||
    code === Code.Canceled
  );
}

/**
 * Sends what the composer hands over, optimistically: the message shows at once as "sending…",
 * goes out one at a time in typing order, waits while the realtime socket is down, retries with
 * backoff, and ends as "failed — retry" when the server keeps refusing it.
 */
export const useOutboxStore = defineStore("outbox", () => {
  const conversations = useConversationsStore();
  const connection = useConnectionStore();
  let pumping = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const online = (): boolean => connection.state === "open" && navigator.onLine;

  function find(clientMessageId: string): PendingMessage | undefined {
    return conversations.pending.find((p) => p.clientMessageId === clientMessageId);
  }

  function send(conversationId: string, text: string, replyToMessageId = ""): void {
    conversations.pending.push({
      clientMessageId: crypto.randomUUID(),
      conversationId,
      text,
      replyToMessageId,
      createdAtMs: Date.now(),
      status: "sending",
      attempts: 0,
      error: "",
    });
    void pump();
  }

  function retry(clientMessageId: string): void {
    const message = find(clientMessageId);
    if (!message) return;
    message.status = "sending";
    message.attempts = 0;
    message.error = "";
    void pump();
  }

  function discard(clientMessageId: string): void {
    const index = conversations.pending.findIndex((p) => p.clientMessageId === clientMessageId);
    if (index !== -1) conversations.pending.splice(index, 1);
  }

  function scheduleRetry(delayMs: number): void {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void pump(), delayMs);
  }

  /** Sends the oldest sending message, then the next; stops at the first one that must wait. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const next = conversations.pending.find((p) => p.status === "sending");
        if (!next || !online()) return;
        const outcome = await attempt(next);
        if (outcome === "wait") return;
      }
    } finally {
      pumping = false;
    }
  }

  async function attempt(message: PendingMessage): Promise<"done" | "wait"> {
    try {
      const res = await api().messages.sendMessage({
        conversationId: message.conversationId,
        clientMessageId: message.clientMessageId,
        text: message.text,
        replyToMessageId: message.replyToMessageId,
      });
      // Usually removes it from pending; the realtime frame may have done so already.
      if (res.message) conversations.ingestMessage(res.message);
      else discard(message.clientMessageId);
      return "done";
    } catch (err) {
      const current = find(message.clientMessageId);
      if (!current) return "done";
      if (!isTransient(err)) {
        current.status = "failed";
        current.error = describeError(err);
        return "done";
      }
      // A drop we can see (socket or browser offline) is waited out, not counted.
      if (!online()) return "wait";
      current.attempts += 1;
      if (current.attempts >= maxSendAttempts) {
        current.status = "failed";
        current.error = describeError(err);
        return "done";
      }
      const hinted = retryAfterSeconds(err);
      scheduleRetry(hinted !== undefined ? hinted * 1_000 : (backoffMs[current.attempts - 1] ?? 8_000));
      return "wait";
    }
  }

  // Back online: what was typed meanwhile goes out.
  watch(
    () => connection.state,
    (state) => {
      if (state === "open") void pump();
    },
  );
  window.addEventListener("online", () => void pump());

  return { send, retry, discard };
});
