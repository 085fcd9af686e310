/**
 * Chaos under load: the whole cluster (scripts/cluster: two replicas of every service behind
 * nginx) on its own Postgres, NATS and Redis (support/backends.ts, never the machine's shared
 * ones), while scripted people send 1-1 and group messages continuously (load.ts). Each scenario
 * injects one fault while the load runs, lets the cluster recover by itself, stops sending, waits
 * for the deliveries to drain, and counts against the database (report.ts):
 *
 * - nothing lost: every committed row reached every recipient's client;
 * - nothing doubled: one row per client message id, each delivered to the app once (duplicate
 *   frames before the SDK's dedupe are counted, not failed);
 * - failures clean: a send fails only with a passing code (unavailable, deadline_exceeded, ...),
 *   and its retry with the same client message id commits it once;
 * - recovery by itself: readiness back on every process, sends and deliveries flowing.
 *
 * The table goes to test-artifacts/chaos.md and the one-line summary to stdout. Needs the real
 * backends' binaries and nginx, so it runs only with PARLEY_TEST_REAL=1.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, repoRoot, type Cluster } from "../../scripts/cluster/index.js";
import { startPrivateNats, startPrivatePostgres, startPrivateRedis, type Backend } from "../distributed/support/backends.js";
import { befriend, createGroup, openDirect, signUp, type Person } from "../distributed/support/people.js";
import { CLEAN_FAILURES, LoadDriver, type Conversation, type Member, type SendRecord } from "./load.js";
import { ReadinessWatch } from "./readiness.js";
import { count, recoveryMs, resultsTable, summaryLine, type ScenarioResult } from "./report.js";

const REAL = process.env.PARLEY_TEST_REAL === "1";
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** People in 1-1 pairs; the first 20 are also in two groups of 10. */
const PEOPLE = num("CHAOS_PEOPLE", 40);
/** Sends per second over all senders. */
const RATE = num("CHAOS_RATE", 80);
/** Shortened for the run so each fault outlives them within seconds (defaults: 60 s and 30 s). */
const PRESENCE_TTL_S = 4;
const ACK_WAIT_S = 3;
/** Load before the fault, load after it, and how long retries and deliveries may take to drain. */
const WARMUP_MS = 3_000;
const AFTER_MS = 5_000;
const DRAIN_MS = 15_000;
/** How long a dependency stays down. */
const OUTAGE_MS = 4_000;
/** SIGSTOP length: longer than the ack wait and than the edge's 5 s re-send timer. */
const PAUSE_MS = 6_500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs: number, intervalMs = 100): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
  return Date.now();
}

interface FaultOutcome {
  /** When the fault was over (process killed or resumed, dependency back up). */
  faultEnd: number;
  /** A scenario-specific moment recovery must also include (e.g. clients back on another edge). */
  recoveredAt?: number;
  /**
   * Processes killed and started again: recovery does not wait for their readiness (the service
   * recovered on its other replica; the restart is the operator's, timed in the notes).
   */
  replaced?: string[];
  notes: string[];
}

describe.skipIf(!REAL)("chaos: faults under continuous load", () => {
  const runId = randomBytes(3).toString("hex");
  const stateDir = mkdtempSync(join(tmpdir(), "parley-chaos-"));
  const results: ScenarioResult[] = [];
  let pgServer: Backend | undefined;
  let nats: Backend | undefined;
  let redis: Backend | undefined;
  let cluster: Cluster | undefined;
  let driver: LoadDriver | undefined;
  let readiness: ReadinessWatch | undefined;
  const paused = new Set<string>();
  const suiteStarted = Date.now();

  const c = (): Cluster => cluster ?? fail("cluster not started");
  const d = (): LoadDriver => driver ?? fail("load not started");
  const r = (): ReadinessWatch => readiness ?? fail("readiness not started");
  function fail(why: string): never {
    throw new Error(why);
  }

  beforeAll(async () => {
    [pgServer, nats, redis] = await Promise.all([startPrivatePostgres(`parley_chaos_${runId}`), startPrivateNats(), startPrivateRedis()]);
    cluster = await startCluster({
      stateDir,
      port: 0,
      databaseUrl: pgServer.url,
      natsUrl: nats.url,
      redisUrl: redis.url,
      namespace: `chaos_${runId}`,
      // Sends are limited to ~10/s per user; a few hundred a second from 40 people needs more.
      env: { RATE_LIMIT_SCALE: "100", PRESENCE_TTL: String(PRESENCE_TTL_S), BUS_ACK_WAIT: String(ACK_WAIT_S), LOG_LEVEL: "warn" },
      log: () => undefined,
    });
    const url = c().url;
    const people: Person[] = [];
    // A few at a time: each register and login is an argon2 hash on two shared cores.
    for (let i = 0; i < PEOPLE; i += 8) {
      const batch = Array.from({ length: Math.min(8, PEOPLE - i) }, (_, k) => signUp(url, `chaos${runId}p${i + k}`));
      people.push(...(await Promise.all(batch)));
    }
    const conversations: Conversation[] = [];
    const pairs = Array.from({ length: Math.floor(PEOPLE / 2) }, (_, k) => [2 * k, 2 * k + 1] as const);
    await Promise.all(pairs.map(([a, b]) => befriend(people[a]!, people[b]!)));
    // Two groups: owners 0 and 1, members every other person of the first 20.
    const groupMembers = [0, 1].map((owner) => Array.from({ length: 10 }, (_, k) => owner + 2 * k).filter((i) => i < PEOPLE));
    await Promise.all(groupMembers.flatMap(([owner, ...rest]) => rest.map((m) => befriend(people[owner!]!, people[m]!))));
    for (const [a, b] of pairs) conversations.push({ id: await openDirect(people[a]!, people[b]!), kind: "direct", members: [a, b] });
    for (const [g, members] of groupMembers.entries()) {
      const [owner, ...rest] = members;
      const id = await createGroup(people[owner!]!, `chaos group ${g}`, rest.map((m) => people[m]!));
      conversations.push({ id, kind: "group", members });
    }
    driver = new LoadDriver(people, c().wsUrl, conversations, { ratePerSec: RATE, maxInFlight: 200, attemptTimeoutMs: 5_000, groupShare: 0.2 });
    await until("every client synced", () => d().members.every((m) => m.syncs > 0), 30_000);
    readiness = new ReadinessWatch(c());
    readiness.start();
  }, 180_000);

  afterAll(async () => {
    readiness?.stop();
    driver?.close();
    for (const name of paused) cluster?.resume(name);
    await cluster?.stopAll(5_000);
    await Promise.all([pgServer, nats, redis].map((b) => b?.destroy().catch(() => undefined)));
    rmSync(stateDir, { recursive: true, force: true });
    if (results.length > 0) writeReport();
  }, 60_000);

  function writeReport(): void {
    const dir = join(repoRoot, "test-artifacts");
    mkdirSync(dir, { recursive: true });
    const lines = [
      `# Chaos run ${new Date().toISOString()}`,
      "",
      `${PEOPLE} people (${PEOPLE / 2} 1-1 pairs, 2 groups of 10), offered ${RATE} sends/s; suite wall time ${((Date.now() - suiteStarted) / 1000).toFixed(0)} s.`,
      "",
      resultsTable(results),
      "",
      ...results.map((x) => `- **${x.name}** (${(x.durationMs / 1000).toFixed(0)} s): ${x.what}${x.notes.length ? ` ${x.notes.join("; ")}.` : ""}`),
      "",
    ];
    writeFileSync(join(dir, "chaos.md"), lines.join("\n"));
    process.stdout.write(`${summaryLine(results)}\n`);
  }

  const duplicatesDropped = () => d().members.reduce((n, m) => n + m.duplicatesDropped(), 0);
  const gaps = () => d().members.reduce((n, m) => n + m.gaps, 0);

  /** Load, fault, recovery, drain; then the counts every scenario must meet. */
  async function scenario(name: string, what: string, fault: () => Promise<FaultOutcome>): Promise<ScenarioResult> {
    const started = Date.now();
    const perEdge = c()
      .processes()
      .filter((p) => p.service === "realtime")
      .map((p) => `${p.name} ${membersOn(p.name).length}`)
      .join(", ");
    const duplicatesBefore = duplicatesDropped();
    const gapsBefore = gaps();
    d().start(name);
    let outcome: FaultOutcome;
    let faultStart: number;
    try {
      await sleep(WARMUP_MS);
      faultStart = Date.now();
      outcome = await fault();
      await sleep(AFTER_MS);
    } finally {
      await d().stop(DRAIN_MS);
    }
    // Every committed row at every recipient, bounded: a lost one fails below with its ids.
    let counted = await count(d(), pgServer!.url, name);
    for (const deadline = Date.now() + DRAIN_MS; counted.missing.length > 0 && Date.now() < deadline; ) {
      await sleep(500);
      counted = await count(d(), pgServer!.url, name);
    }
    const except = outcome.replaced ?? [];
    const allReadyAt = await until("every process ready", () => r().allReadySince(outcome.faultEnd, except) !== undefined, 30_000, 250).then(
      () => r().allReadySince(outcome.faultEnd, except),
      () => undefined,
    );
    const recover = recoveryMs(d(), name, outcome.faultEnd, allReadyAt);
    const result: ScenarioResult = {
      ...counted.result,
      what,
      unready: r().unreadyBetween(faultStart, allReadyAt ?? Date.now()),
      recoverMs: recover === undefined ? undefined : Math.max(recover, (outcome.recoveredAt ?? 0) - outcome.faultEnd),
      notes: [`open sockets at the start: ${perEdge}`, ...outcome.notes],
      duplicatesBeforeDedupe: duplicatesDropped() - duplicatesBefore,
      gapsFilled: gaps() - gapsBefore,
      durationMs: Date.now() - started,
    };
    results.push(result);
    process.stdout.write(`chaos ${name}: ${JSON.stringify(result)}\n`);

    expect(result.sent, "the load ran").toBeGreaterThan(RATE);
    expect(counted.missing.slice(0, 10), `lost (recipient <- client message id) in ${name}:\n${c().tail(undefined, 5)}`).toEqual([]);
    expect(result.duplicateRows, "one row per client message id").toBe(0);
    expect(result.duplicatesAfterDedupe, "each message handed to the app once").toBe(0);
    expect(Object.keys(result.failures).filter((code) => !CLEAN_FAILURES.has(code)), "only clean failure codes").toEqual([]);
    expect(result.gaveUp, "every send committed in the end (retried with its client message id)").toBe(0);
    expect(result.rows, "every committed send is one row").toBe(result.committed);
    expect(allReadyAt, "every process ready again").toBeDefined();
    expect(result.recoverMs).toBeDefined();
    return result;
  }

  const membersOn = (node: string): Member[] => d().members.filter((m) => m.node === node && m.client.state === "open");

  /**
   * After a restart the new edge has no clients: move half of the crowded edge's there, as new
   * sockets arriving would. nginx keeps a refused upstream out for its fail_timeout (5 s), so a
   * socket that lands on the crowded edge again is moved again a second later (three rounds: the
   * distribution reached is in the notes, not asserted).
   */
  async function rebalance(): Promise<string> {
    const edges = c().processes().filter((p) => p.service === "realtime").map((p) => p.name);
    const crowded = edges.reduce((a, b) => (membersOn(a).length >= membersOn(b).length ? a : b));
    const target = Math.floor(d().members.length / 2);
    for (let round = 0; round < 3 && membersOn(crowded).length > target; round++) {
      const move = membersOn(crowded).slice(0, membersOn(crowded).length - target);
      const before = new Map(move.map((m) => [m, m.syncs]));
      for (const m of move) m.reopen();
      await until("moved clients synced again", () => move.every((m) => m.syncs > (before.get(m) ?? 0) && m.client.state === "open"), 20_000);
      if (membersOn(crowded).length > target) await sleep(1_000);
    }
    return edges.map((e) => `${e} ${membersOn(e).length}`).join(", ");
  }

  it("kill -9 an edge with clients on it: they resume through nginx on the other edge; its users' presence goes offline within the TTL and back", async () => {
    const res = await scenario(
      "edge-kill",
      `SIGKILL on the edge holding the most sockets; two of its users stay away until their friend sees them offline (PRESENCE_TTL=${PRESENCE_TTL_S} s), then come back.`,
      async () => {
        const edges = c().processes().filter((p) => p.service === "realtime").map((p) => p.name);
        const dead = edges.reduce((a, b) => (membersOn(a).length >= membersOn(b).length ? a : b));
        const victims = membersOn(dead);
        expect(victims.length, "clients on the edge to kill").toBeGreaterThan(2);
        // Two who stay away, each watched by their pair partner (a friend), who is not away.
        const away = victims.filter((m) => m.index % 2 === 0).slice(0, 2);
        const watchers = away.map((a) => d().members[a.index + 1]!);
        const directOf = (a: Member) => d().conversations.find((cv) => cv.kind === "direct" && cv.members.includes(a.index))!.id;
        const seen = new Map<string, Array<{ online: boolean; at: number }>>(away.map((a) => [a.person.id, []]));
        const stops = watchers.map((w) =>
          w.client.on("presence", (p) => seen.get(p.userId)?.push({ online: p.online, at: Date.now() })),
        );
        const poll = setInterval(() => {
          for (const [i, w] of watchers.entries()) if (w.client.state === "open") w.client.subscribePresence(directOf(away[i]!));
        }, 500);
        try {
          r().ignore(dead);
          await c().kill(dead);
          const killedAt = Date.now();
          for (const a of away) a.goAway();
          const others = victims.filter((m) => !away.includes(m));
          const backAt = await until(
            "the dead edge's clients open on another edge",
            () => others.every((m) => m.client.state === "open" && m.node !== dead),
            20_000,
          );
          const latest = (a: Member) => seen.get(a.person.id)!.at(-1);
          const offlineAt = await until("friends see the away users offline", () => away.every((a) => latest(a)?.online === false && latest(a)!.at > killedAt), (PRESENCE_TTL_S + 8) * 1000);
          const reopenedAt = Date.now();
          for (const a of away) a.reopen();
          const onlineAt = await until("friends see them online again", () => away.every((a) => latest(a)?.online === true && latest(a)!.at > reopenedAt), 15_000);
          await c().start(dead);
          r().watch(dead);
          const spread = await rebalance();
          return {
            faultEnd: killedAt,
            recoveredAt: Math.max(backAt, onlineAt),
            replaced: [dead],
            notes: [
              `${victims.length} clients were on ${dead}; ${others.length} resumed on the other edge after ${((backAt - killedAt) / 1000).toFixed(1)} s`,
              `after the restart and moving clients back: ${spread}`,
              `the two away users looked offline ${((offlineAt - killedAt) / 1000).toFixed(1)} s after the kill (TTL ${PRESENCE_TTL_S} s) and online ${((onlineAt - reopenedAt) / 1000).toFixed(1)} s after reconnecting`,
            ],
          };
        } finally {
          clearInterval(poll);
          for (const stop of stops) stop();
        }
      },
    );
    expect(res.lost).toBe(0);
  }, 120_000);

  it("kill -9 a chat replica between a send and its reply: the retry with the same client message id finds the one message", async () => {
    let cut: SendRecord | undefined;
    const res = await scenario(
      "chat-kill",
      "A probe send is watched in the database: the moment its row is committed and its reply has not come back, chat-1 is frozen (SIGSTOP); still no reply 0.5 s later means the call is on chat-1, which is then SIGKILLed. The probe (and the load) retry with the same client message id; chat-1 is started again afterwards.",
      async () => {
        const db = new pg.Client({ connectionString: pgServer!.url });
        await db.connect();
        const directs = d().conversations.filter((cv) => cv.kind === "direct");
        let killedAt = 0;
        let tries = 0;
        try {
          for (const deadline = Date.now() + 25_000; !cut && Date.now() < deadline; tries++) {
            const conversation = directs[tries % directs.length]!;
            const probe = d().sendOne(conversation, conversation.members[0]!);
            let replied = false;
            void probe.done.then(() => (replied = true));
            let committed = false;
            for (const until = Date.now() + 5_000; !replied && !committed && Date.now() < until; ) {
              committed = (await db.query("select 1 from chat.messages where client_message_id = $1", [probe.record.clientMessageId])).rowCount === 1;
            }
            if (replied || !committed) {
              await probe.done;
              continue;
            }
            c().pause("chat-1");
            paused.add("chat-1");
            await sleep(500);
            if (replied || probe.record.attempts.length > 0) {
              // Answered by chat-2 (or chat-1 had replied already): not the call to cut.
              c().resume("chat-1");
              paused.delete("chat-1");
              await probe.done;
              continue;
            }
            r().ignore("chat-1");
            await c().kill("chat-1");
            paused.delete("chat-1");
            killedAt = Date.now();
            const sent = await probe.done;
            if (sent.attempts[0]?.outcome !== "ok") cut = sent;
            else {
              // It was on chat-2 after all, only slow: chat-1 back, try again.
              await c().start("chat-1");
              r().watch("chat-1");
            }
          }
        } finally {
          await db.end();
        }
        if (!cut) throw new Error(`no probe was caught between its commit and its reply in ${tries} tries`);
        await sleep(2_000);
        const restarting = Date.now();
        await c().start("chat-1");
        r().watch("chat-1");
        return {
          faultEnd: killedAt,
          replaced: ["chat-1"],
          notes: [
            `probe ${tries} was caught between its commit and its reply; its attempts: ${cut.attempts.map((a) => a.outcome).join(" → ")}`,
            `chat-1 back (ready) ${((Date.now() - restarting) / 1000).toFixed(1)} s after its restart`,
          ],
        };
      },
    );
    expect(cut, "a send was cut between commit and reply").toBeDefined();
    const probe = cut!;
    expect(probe.attempts[0]?.outcome, "the cut call failed").not.toBe("ok");
    expect(probe.attempts.at(-1)?.outcome, "its retry returned the message").toBe("ok");
    const db = new pg.Client({ connectionString: pgServer!.url });
    await db.connect();
    try {
      const rows = await db.query<{ id: string }>("select id from chat.messages where client_message_id = $1", [probe.clientMessageId]);
      expect(rows.rows.map((x) => x.id), "exactly one message, the one the retry returned").toEqual([probe.messageId]);
    } finally {
      await db.end();
    }
    const recipient = probe.conversation.members.find((m) => m !== probe.sender)!;
    expect(d().deliveries.get(probe.clientMessageId)?.get(recipient)?.count, "delivered once").toBe(1);
    expect(res.committedBeforeFailedReply).toBeGreaterThan(0);
  }, 120_000);

  for (const dep of ["nats", "redis", "postgres"] as const) {
    it(`restart ${dep} while traffic runs: sends fail cleanly while it is down, everything resumes by itself, readiness goes false and true`, async () => {
      const backend = { nats, redis, postgres: pgServer }[dep] ?? fail(`${dep} not started`);
      const res = await scenario(`${dep}-restart`, `${dep} stopped for ${OUTAGE_MS / 1000} s, then started again on the same port with its data.`, async () => {
        await backend.stop();
        await sleep(OUTAGE_MS);
        await backend.start();
        return { faultEnd: Date.now(), notes: [] };
      });
      expect(res.unready.length, "some process reported itself unready while it was down").toBeGreaterThan(0);
    }, 120_000);
  }

  it("SIGSTOP an edge and a chat replica for longer than the ack wait, then SIGCONT: no duplicate side effects", async () => {
    await scenario(
      "pause",
      `SIGSTOP for ${PAUSE_MS / 1000} s (BUS_ACK_WAIT=${ACK_WAIT_S} s, edge re-send after 5 s) on the edge holding the most sockets and on chat-1, then SIGCONT.`,
      async () => {
        const edges = c().processes().filter((p) => p.service === "realtime").map((p) => p.name);
        const edge = edges.reduce((a, b) => (membersOn(a).length >= membersOn(b).length ? a : b));
        const onEdge = membersOn(edge).length;
        for (const name of [edge, "chat-1"]) {
          r().ignore(name);
          c().pause(name);
          paused.add(name);
        }
        await sleep(PAUSE_MS);
        for (const name of [edge, "chat-1"]) {
          c().resume(name);
          paused.delete(name);
          r().watch(name);
        }
        return { faultEnd: Date.now(), notes: [`${onEdge} clients were on the paused ${edge}`] };
      },
    );
  }, 120_000);
});
