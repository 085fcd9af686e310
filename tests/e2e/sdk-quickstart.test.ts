/**
 * The SDK README's example, run as a partner would run it: its own process,
 * against the embedded product, receiving live messages over the WebSocket.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createParleyClient, createSession, type ParleyClient } from "@parley/sdk";
import type { EmbeddedParley } from "@parley/embedded";
import { waitFor } from "@parley/platform/testing";
import { startParley } from "./support/parley.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
let parley: EmbeddedParley;

beforeAll(async () => {
  parley = await startParley();
});
afterAll(async () => parley?.close());

/** Registers and verifies through the dev mailbox (no SMTP configured), then logs in. */
async function account(username: string): Promise<{ client: ParleyClient; id: string; password: string }> {
  const client = createParleyClient({ baseUrl: parley.apiUrl });
  const password = `${username} quickstart passphrase`;
  const email = `${username}@example.com`;
  await client.auth.register({ email, username, password, displayName: username });
  let token = "";
  await waitFor(async () => {
    const { mails } = await client.devMailbox.listDevMail({ to: email });
    token = new URL(mails.at(-1)?.link ?? "http://x/").searchParams.get("token") ?? "";
    return token !== "";
  }, { timeoutMs: 15_000 });
  await client.auth.verifyEmail({ token });
  const me = await createSession(client).login(username, password);
  return { client, id: me!.id, password };
}

it("the README quickstart logs in, opens the chat and prints incoming messages", async () => {
  const suffix = Date.now() % 100000;
  const alice = await account(`qsalice${suffix}`);
  const bob = await account(`qsbob${suffix}`);
  const request = await bob.client.friends.sendFriendRequest({ target: { case: "userId", value: alice.id } });
  await alice.client.friends.respondToFriendRequest({ requestId: request.request!.id, accept: true });
  let conversationId = "";
  await waitFor(async () => {
    conversationId = (await bob.client.conversations.openDirect({ userId: alice.id })).conversation!.id;
  }, { timeoutMs: 15_000 });
  await bob.client.messages.sendMessage({ conversationId, clientMessageId: "before", text: "sent before she looked" });

  const script = spawn(process.execPath, ["--import", "tsx", "packages/sdk/examples/quickstart.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PARLEY_URL: parley.apiUrl,
      PARLEY_WS_URL: parley.wsUrl,
      PARLEY_LOGIN: `qsalice${suffix}`,
      PARLEY_PASSWORD: alice.password,
      PARLEY_MAX_MESSAGES: "3",
      PARLEY_TIMEOUT_MS: "30000",
    },
  });
  let out = "";
  let err = "";
  script.stdout.on("data", (c: Buffer) => (out += c.toString()));
  script.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => script.on("exit", resolve));

  await waitFor(() => out.includes("listening"), { timeoutMs: 30_000 }).catch((e: unknown) => {
    throw new Error(`quickstart never listened; stdout: ${out} stderr: ${err}`, { cause: e });
  });
  for (const text of ["one", "two", "three"]) {
    await bob.client.messages.sendMessage({ conversationId, clientMessageId: text, text });
  }
  expect(await exited).toBe(0);
  // The opened chat shows its history; the live lines follow, in order.
  expect(out).toContain(`chat ${conversationId} (direct)`);
  expect(out).toContain("sent before she looked");
  const live = out.split("\n").filter((l) => l.startsWith(`[${conversationId} #`));
  expect(live).toEqual([
    `[${conversationId} #2] ${bob.id}: one`,
    `[${conversationId} #3] ${bob.id}: two`,
    `[${conversationId} #4] ${bob.id}: three`,
  ]);
}, 90_000);
