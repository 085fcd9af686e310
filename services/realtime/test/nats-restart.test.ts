/**
 * NATS restart mid-stream: this file starts its own nats-server (never the
 * shared one on 4222), so it runs in both modes; the whole platform for this
 * test talks to it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBus } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { send, seqs, startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

class OwnNats {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    private readonly storeDir: string,
  ) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn("/usr/sbin/nats-server", ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir], { stdio: "ignore" });
    await waitFor(() => portOpen(this.port), { timeoutMs: 10_000 });
  }
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  }
}

describe("NATS restart", () => {
  let nats: OwnNats;
  let storeDir: string;
  let h: EdgeHarness;
  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), "parley-nats-"));
    nats = new OwnNats(await freePort(), storeDir);
    await nats.start();
    h = await startEdgeHarness({ bus: (deps) => createBus({ natsUrl: nats.url, namespace: "restart", logger: deps.logger }) });
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await nats?.stop();
    rmSync(storeDir, { recursive: true, force: true });
  }, 30_000);

  it("loses nothing when NATS restarts mid-stream", async () => {
    const [alice, bob] = [await h.account("alice"), await h.account("bob")];
    await h.befriend(alice, bob);
    const dm = await h.direct(alice, bob);
    const bobRt = h.connect(bob, { cursors: { [dm.id]: 0n } });
    await synced(bobRt);
    for (let i = 1; i <= 20; i++) await send(alice, dm.id, `before${i}`);
    await waitFor(() => bobRt.messages.length === 20, { timeoutMs: 10_000 });

    await nats.stop();
    // Messages commit to the database while the broker is down; the outbox holds them.
    for (let i = 1; i <= 20; i++) await send(alice, dm.id, `during${i}`);
    await nats.start();
    for (let i = 1; i <= 20; i++) await send(alice, dm.id, `after${i}`);

    await waitFor(() => bobRt.messages.length >= 60, { timeoutMs: 45_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(seqs(bobRt.messages)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  }, 90_000);
});
