/**
 * The chaos suite's load: scripted people sending into 1-1 and group conversations at a bounded
 * total rate, each on its own RealtimeClient (acking, resuming and deduping as the SDK does).
 *
 * Every send is recorded (each attempt's outcome, retried with the same client message id until
 * it commits, as an app does), and so is every delivery each member's client hands the app.
 * Scenarios read these records per scenario (the client message id starts with the scenario's
 * name) to count sent / committed / delivered / lost.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { RealtimeClient } from "@parley/sdk";
import { NodeWebSocket } from "@parley/sdk/node";
import type { Person } from "../distributed/support/people.js";

export interface Conversation {
  id: string;
  kind: "direct" | "group";
  /** Indexes into LoadDriver.members. */
  members: number[];
}

/** One attempt of one send: "ok" or the Connect code name it failed with, and when it ended. */
export interface Attempt {
  outcome: string;
  startedAt: number;
  endedAt: number;
}

export interface SendRecord {
  clientMessageId: string;
  conversation: Conversation;
  sender: number;
  attempts: Attempt[];
  /** Set once an attempt returned the message. */
  messageId?: string;
}

export interface Delivery {
  count: number;
  firstAt: number;
}

/** One person's realtime side: the current client and what every client of theirs delivered. */
export class Member {
  client: RealtimeClient;
  node = "";
  welcomes = 0;
  syncs = 0;
  /** Holes in a conversation the SDK filled from history (it reports each as a `gap`). */
  gaps = 0;
  /** duplicatesDropped of the clients this member had before the current one. */
  private earlierDuplicates = 0;

  constructor(
    readonly index: number,
    readonly person: Person,
    private readonly wsUrl: string,
    private readonly onMessage: (member: Member, clientMessageId: string) => void,
  ) {
    this.client = this.open({});
  }

  /** Frames the SDK dropped as already delivered, over every client this member had. */
  duplicatesDropped(): number {
    return this.earlierDuplicates + this.client.stats().duplicatesDropped;
  }

  /** Closes the client for good (a device gone away); `reopen` resumes from where it was. */
  goAway(): void {
    this.client.close();
  }

  /** A new client (a new socket through nginx) resuming from the old one's cursors. */
  reopen(): void {
    const cursors = this.client.cursors();
    this.client.close();
    this.earlierDuplicates += this.client.stats().duplicatesDropped;
    this.client = this.open(cursors);
  }

  private open(cursors: Record<string, bigint>): RealtimeClient {
    const client = new RealtimeClient({
      url: this.wsUrl,
      WebSocket: NodeWebSocket,
      getAccessToken: async () => (await this.person.session.accessToken()) ?? "",
      cursors,
      // As an app does: a hole that does not fill in time is paged from history, not skipped.
      messages: this.person.api.messages,
      // Reconnect quickly: a chaos run measures the cluster's recovery, not the SDK's backoff cap.
      backoff: { baseMs: 100, capMs: 2_000 },
    });
    client.on("welcome", (w) => {
      if (this.client !== client) return;
      this.node = w.nodeId;
      this.welcomes++;
    });
    client.on("synced", () => {
      if (this.client === client) this.syncs++;
    });
    client.on("message", (m) => this.onMessage(this, m.clientMessageId));
    client.on("gap", () => this.gaps++);
    return client;
  }
}

export interface LoadOptions {
  /** Sends started per second, over all senders. */
  ratePerSec: number;
  /** Sends in flight at once (attempts and retry waits); the ticker skips when full. */
  maxInFlight: number;
  /** An attempt not answered by then fails deadline_exceeded and is retried. */
  attemptTimeoutMs: number;
  /** Share of sends that go to a group. */
  groupShare: number;
}

/** Connect codes a send may fail with while a dependency or a replica is away: retry later. */
export const CLEAN_FAILURES: ReadonlySet<string> = new Set(["unavailable", "deadline_exceeded", "resource_exhausted", "aborted"]);

const codeName = (err: unknown): string => {
  const code = ConnectError.from(err).code;
  // Code's names in the wire spelling ("deadline_exceeded"), as the API documents them.
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LoadDriver {
  readonly members: Member[];
  /** clientMessageId → record, for every scenario. */
  readonly sends = new Map<string, SendRecord>();
  /** clientMessageId → member index → what that member's clients delivered. */
  readonly deliveries = new Map<string, Map<number, Delivery>>();
  /** Sends the ticker could not start because maxInFlight were still going. */
  skipped = 0;
  private scenario = "";
  private counter = 0;
  private inFlight = 0;
  private budget = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** Retries stop after this (set when sending stops). */
  private giveUpAt = Number.POSITIVE_INFINITY;
  private readonly running = new Set<Promise<void>>();
  private readonly directs: Conversation[];
  private readonly groups: Conversation[];

  constructor(
    people: Person[],
    wsUrl: string,
    readonly conversations: Conversation[],
    private readonly opts: LoadOptions,
  ) {
    this.members = people.map((p, i) => new Member(i, p, wsUrl, (member, id) => this.delivered(member, id)));
    this.directs = conversations.filter((c) => c.kind === "direct");
    this.groups = conversations.filter((c) => c.kind === "group");
  }

  get sending(): boolean {
    return this.ticker !== undefined;
  }

  get inFlightNow(): number {
    return this.inFlight;
  }

  /** Starts (or continues) sending; new sends belong to `scenario`. */
  start(scenario: string): void {
    this.scenario = scenario;
    this.giveUpAt = Number.POSITIVE_INFINITY;
    if (this.ticker) return;
    let last = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      // Capped: a stalled event loop must not come back with a burst of a whole second's sends.
      this.budget = Math.min(this.budget + ((now - last) / 1000) * this.opts.ratePerSec, this.opts.ratePerSec / 10);
      last = now;
      while (this.budget >= 1) {
        this.budget--;
        if (this.inFlight >= this.opts.maxInFlight) {
          this.skipped++;
          continue;
        }
        this.launch();
      }
    }, 20);
  }

  /** Stops starting sends; the ones going keep retrying for up to `drainMs`, then give up. */
  async stop(drainMs: number): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.budget = 0;
    this.giveUpAt = Date.now() + drainMs;
    await Promise.all([...this.running]);
  }

  close(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.giveUpAt = 0;
    for (const m of this.members) m.client.close();
  }

  /** Records of one scenario's sends. */
  recordsOf(scenario: string): SendRecord[] {
    return [...this.sends.values()].filter((r) => r.clientMessageId.startsWith(`${scenario}-`));
  }

  /** Sends one message now, outside the ticker (a scenario's own probe), with the same retrying. */
  sendOne(conversation: Conversation, sender: number): { record: SendRecord; done: Promise<SendRecord> } {
    return this.track(conversation, sender);
  }

  private launch(): void {
    const groupTurn = this.groups.length > 0 && Math.random() < this.opts.groupShare;
    const pool = groupTurn ? this.groups : this.directs;
    const conversation = pool[Math.floor(Math.random() * pool.length)]!;
    const sender = conversation.members[Math.floor(Math.random() * conversation.members.length)]!;
    void this.track(conversation, sender);
  }

  private track(conversation: Conversation, sender: number): { record: SendRecord; done: Promise<SendRecord> } {
    const record: SendRecord = { clientMessageId: `${this.scenario}-${++this.counter}`, conversation, sender, attempts: [] };
    this.sends.set(record.clientMessageId, record);
    this.inFlight++;
    const done = this.sendUntilCommitted(record).finally(() => {
      this.inFlight--;
      this.running.delete(done);
    });
    this.running.add(done);
    return { record, done: done.then(() => record) };
  }

  /** What an app does with a send that failed for a passing reason: the same client message id again, later. */
  private async sendUntilCommitted(record: SendRecord): Promise<void> {
    const api = this.members[record.sender]!.person.api;
    for (let attempt = 0; ; attempt++) {
      const startedAt = Date.now();
      try {
        const res = await api.messages.sendMessage(
          { conversationId: record.conversation.id, clientMessageId: record.clientMessageId, text: record.clientMessageId },
          { timeoutMs: this.opts.attemptTimeoutMs },
        );
        record.attempts.push({ outcome: "ok", startedAt, endedAt: Date.now() });
        record.messageId = res.message?.id ?? "";
        return;
      } catch (err) {
        const outcome = codeName(err);
        record.attempts.push({ outcome, startedAt, endedAt: Date.now() });
        if (!CLEAN_FAILURES.has(outcome)) return;
      }
      const delay = Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (Date.now() + delay > this.giveUpAt) return;
      await sleep(delay);
    }
  }

  private delivered(member: Member, clientMessageId: string): void {
    let byMember = this.deliveries.get(clientMessageId);
    if (!byMember) this.deliveries.set(clientMessageId, (byMember = new Map()));
    const d = byMember.get(member.index);
    if (d) d.count++;
    else byMember.set(member.index, { count: 1, firstAt: Date.now() });
  }
}
