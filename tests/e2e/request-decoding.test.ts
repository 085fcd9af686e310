/**
 * Issue 7, items 1, 11 and 12: what the servers do with request bodies no
 * generated client sends — compression bombs, oversized bodies, invalid UTF-8
 * in JSON, malformed binary protobuf — over real HTTP/1.1 (Connect) and h2c
 * (gRPC) against the whole product. Each must be refused with a clear code,
 * never `internal`, and must write nothing.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { sql } from "drizzle-orm";
import type { EmbeddedParley } from "@parley/embedded";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { RegisterRequestSchema } from "@parley/gen/parley/identity/v1/auth_pb";
import { bearer } from "@parley/platform/testing";
import { RPC_READ_MAX_BYTES } from "@parley/platform/rpc-handler-options";
import { startParley } from "./support/parley.js";
import { connectUnary, grpcCall, grpcFrame, gzipBomb, rssGrowthDuring, varint } from "./support/raw-rpc.js";

const REGISTER = "parley.identity.v1.AuthService/Register";
const SEND = "parley.chat.v1.MessageService/SendMessage";
const MiB = 1 << 20;
/** What the audit sent: ~150 KB on the wire, so the wire-size check alone refuses it. */
const AUDIT_BOMB_INFLATED = 150 * MiB;
/** ~49 KB on the wire, under the limit: only the bound on inflated bytes stops this one. */
const BOMB_INFLATED = 48 * MiB;
/** "A few MB": inflating stops at 64 KiB; the rest is HTTP and measurement noise. */
const MAX_RSS_GROWTH = 16 * MiB;

const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** 0xC3 0x28 is a classic invalid two-byte sequence; 0xFF never occurs in UTF-8. */
const INVALID_UTF8 = new Uint8Array([0xc3, 0x28, 0xff]);

let parley: EmbeddedParley;
let token: string;
let conversationId: string;

async function rows(table: "identity.users" | "chat.messages"): Promise<number> {
  // node-postgres and PGlite both answer `{ rows }`; drizzle's generic database type does not say so.
  const result = (await parley.deps.database.db.execute(sql.raw(`select count(*)::int as n from ${table}`))) as unknown as { rows: { n: number }[] };
  return Number(result.rows[0]?.n);
}

beforeAll(async () => {
  parley = await startParley();
  const userId = randomUUID();
  ({ token } = await parley.deps.signer!.signAccess({ userId, sessionId: `s-${randomUUID()}` }));
  const conversations = createClient(
    ConversationService,
    createConnectTransport({ baseUrl: parley.apiUrl, httpVersion: "1.1", interceptors: [bearer(token)] }),
  );
  const { conversation } = await conversations.createGroup({ title: "decoding", memberIds: [] });
  conversationId = conversation!.id;
});
afterAll(async () => {
  await parley?.close();
});

describe("request size (item 1)", () => {
  for (const [name, inflated] of [["small enough on the wire", BOMB_INFLATED], ["the audit's 150 KB", AUDIT_BOMB_INFLATED]] as const) {
    it(`refuses a Connect gzip bomb (${name}) before inflating it, and the process does not grow`, async () => {
      const bomb = await gzipBomb(utf8('{"email":"'), inflated, utf8('@example.com","username":"bomb","password":"long enough pass 1"}'));
      const users = await rows("identity.users");
      // Warm the path up so the measurement sees the bomb, not first-call allocations.
      await connectUnary(parley.apiUrl, REGISTER, utf8("{}"), { "content-type": "application/json" });

      const { result, growthBytes } = await rssGrowthDuring(() =>
        connectUnary(parley.apiUrl, REGISTER, bomb, { "content-type": "application/json", "content-encoding": "gzip" }),
      );
      expect(result.code).toBe("resource_exhausted");
      expect(growthBytes).toBeLessThan(MAX_RSS_GROWTH);
      expect(await rows("identity.users")).toBe(users);
    });
  }

  it("refuses a compressed gRPC frame that inflates past the limit", async () => {
    // RegisterRequest.email (field 1, length-delimited) holding the whole bomb.
    const bomb = await gzipBomb(concat(new Uint8Array([0x0a]), varint(BOMB_INFLATED)), BOMB_INFLATED, new Uint8Array());
    expect(bomb.byteLength).toBeLessThan(RPC_READ_MAX_BYTES);
    const users = await rows("identity.users");
    const { result, growthBytes } = await rssGrowthDuring(() =>
      grpcCall(parley.apiUrl, REGISTER, grpcFrame(bomb, true), { "grpc-encoding": "gzip" }),
    );
    expect(result.code).toBe("resource_exhausted");
    expect(growthBytes).toBeLessThan(MAX_RSS_GROWTH);
    expect(await rows("identity.users")).toBe(users);
  });

  it("refuses an oversized plain body on Connect and gRPC", async () => {
    const big = "a".repeat(RPC_READ_MAX_BYTES);
    const json = utf8(JSON.stringify({ email: `${big}@example.com`, username: "big", password: "long enough pass 1" }));
    const connectAnswer = await connectUnary(parley.apiUrl, REGISTER, json, { "content-type": "application/json" });
    expect(connectAnswer.code).toBe("resource_exhausted");

    const binary = toBinary(RegisterRequestSchema, create(RegisterRequestSchema, { email: `${big}@example.com` }));
    const grpcAnswer = await grpcCall(parley.apiUrl, REGISTER, grpcFrame(binary, false));
    expect(grpcAnswer.code).toBe("resource_exhausted");
  });

  it("still accepts the largest request the contract allows (4,000 code points, every one JSON-escaped)", async () => {
    const text = "\\ud83d\\ude00".repeat(4000); // 48,000 bytes of JSON for 4,000 emoji
    const body = utf8(`{"conversationId":"${conversationId}","clientMessageId":"${randomUUID()}","text":"${text}"}`);
    const answer = await connectUnary(parley.apiUrl, SEND, body, { "content-type": "application/json", authorization: `Bearer ${token}` });
    expect(answer.code).toBe("ok");
  });
});

describe("bodies that are not valid compressed data", () => {
  const json = utf8(JSON.stringify({ email: "gz@example.com", username: "gz", password: "long enough pass 1" }));
  const truncated = gzipSync(json).subarray(0, 12);

  it("answers invalid_argument, not internal, for a truncated gzip body (Connect and gRPC)", async () => {
    const viaConnect = await connectUnary(parley.apiUrl, REGISTER, truncated, { "content-type": "application/json", "content-encoding": "gzip" });
    expect(viaConnect).toMatchObject({ status: 400, code: "invalid_argument" });
    const viaGrpc = await grpcCall(parley.apiUrl, REGISTER, grpcFrame(truncated, true), { "grpc-encoding": "gzip" });
    expect(viaGrpc.code).toBe("invalid_argument");
  });

  it("answers invalid_argument for a body that claims brotli and is not", async () => {
    const answer = await connectUnary(parley.apiUrl, REGISTER, new Uint8Array([0]), { "content-type": "application/json", "content-encoding": "br" });
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
  });
});

describe("invalid UTF-8 in JSON (item 11)", () => {
  it("refuses it in Register with invalid_argument and creates no user", async () => {
    const users = await rows("identity.users");
    const body = concat(
      utf8(`{"email":"utf8-${randomUUID().slice(0, 8)}@example.com","username":"utf${Date.now() % 100000}","password":"long enough pass 1","displayName":"x`),
      INVALID_UTF8,
      utf8('"}'),
    );
    const answer = await connectUnary(parley.apiUrl, REGISTER, body, { "content-type": "application/json" });
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(await rows("identity.users")).toBe(users);
  });

  it("refuses it in SendMessage and stores no message", async () => {
    const messages = await rows("chat.messages");
    const body = concat(
      utf8(`{"conversationId":"${conversationId}","clientMessageId":"${randomUUID()}","text":"hi `),
      INVALID_UTF8,
      utf8('"}'),
    );
    const answer = await connectUnary(parley.apiUrl, SEND, body, { "content-type": "application/json", authorization: `Bearer ${token}` });
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(await rows("chat.messages")).toBe(messages);
  });
});

describe("malformed binary protobuf (item 12)", () => {
  const valid = toBinary(
    RegisterRequestSchema,
    create(RegisterRequestSchema, { email: "proto@example.com", username: "proto", password: "long enough pass 1" }),
  );
  const bodies: Record<string, Uint8Array> = {
    truncated: valid.subarray(0, valid.byteLength - 5),
    random: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    "invalid UTF-8 in a string field": concat(new Uint8Array([0x0a, INVALID_UTF8.byteLength]), INVALID_UTF8),
    "length past the end": new Uint8Array([0x0a, 0x7f, 0x61]),
  };

  for (const [name, body] of Object.entries(bodies)) {
    it(`answers invalid_argument, not internal, for a ${name} body (Connect and gRPC)`, async () => {
      const users = await rows("identity.users");
      const viaConnect = await connectUnary(parley.apiUrl, REGISTER, body, { "content-type": "application/proto" });
      expect(viaConnect).toMatchObject({ status: 400, code: "invalid_argument" });
      const viaGrpc = await grpcCall(parley.apiUrl, REGISTER, grpcFrame(body, false));
      expect(viaGrpc.code).toBe("invalid_argument");
      expect(await rows("identity.users")).toBe(users);
    });
  }
});

describe("NUL characters in request strings", () => {
  const LOGIN = "parley.identity.v1.AuthService/Login";
  const CREATE_GROUP = "parley.chat.v1.ConversationService/CreateGroup";

  it("refuses a NUL in a public call's string field (Login) with invalid_argument naming the field", async () => {
    const body = utf8(JSON.stringify({ login: "nob\u0000dy", password: "whatever it is 1" }));
    const answer = await connectUnary(parley.apiUrl, LOGIN, body, { "content-type": "application/json" });
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(answer.message).toContain("login must not contain NUL");
  });

  it("refuses a NUL in binary protobuf and in a repeated field, and writes nothing", async () => {
    const users = await rows("identity.users");
    const register = toBinary(RegisterRequestSchema, create(RegisterRequestSchema, { email: "nul@example.com", username: "nul\u0000user", password: "long enough pass 1" }));
    const viaGrpc = await grpcCall(parley.apiUrl, REGISTER, grpcFrame(register, false));
    expect(viaGrpc.code).toBe("invalid_argument");
    expect(await rows("identity.users")).toBe(users);

    const group = utf8(JSON.stringify({ title: "nul", memberIds: [randomUUID(), "\u0000"] }));
    const answer = await connectUnary(parley.apiUrl, CREATE_GROUP, group, { "content-type": "application/json", authorization: `Bearer ${token}` });
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(answer.message).toContain("member_ids[1]");
  });
});
