/** The shared page-token codec: what it issues it accepts, and nothing else. */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { offsetPageTokens, timeIdPageTokens } from "../src/page-token.js";

const refusal = (run: () => unknown): ConnectError | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
};

describe("page tokens", () => {
  it("round-trip a keyset position and an offset; '' is the first page", () => {
    const feed = timeIdPageTokens("test.feed");
    const at = new Date(Date.UTC(2026, 10, 28, 9, 0, 0, 123));
    const id = randomUUID();
    expect(feed.decode(feed.encode({ at, id }))).toEqual({ at, id });
    expect(feed.decode("")).toBeUndefined();
    const offsets = offsetPageTokens("test.offset", 1000);
    expect(offsets.decode(offsets.encode(40))).toBe(40);
  });

  it("refuses a token of another kind, and names the field", () => {
    const a = timeIdPageTokens("test.a");
    const b = timeIdPageTokens("test.b");
    const token = a.encode({ at: new Date(0), id: randomUUID() });
    const err = refusal(() => b.decode(token, "cursor"));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/^cursor is not a page token/);
  });

  it("refuses offsets out of range", () => {
    const offsets = offsetPageTokens("test.offset", 1000);
    const big = offsetPageTokens("test.offset", 1e9).encode(1001);
    expect(refusal(() => offsets.decode(big))?.code).toBe(Code.InvalidArgument);
  });
});
