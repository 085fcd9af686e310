import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { expectError, snapshot, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  // The real limits: "auth" allows 20 calls a minute per client IP.
  h = await startHarness({ rateLimitScale: 1 });
});
afterAll(async () => {
  await h?.close();
});

it("answers Login with resource_exhausted and a retry-after once the auth limit is reached", async () => {
  const before = await snapshot(h.db);
  let limited: Awaited<ReturnType<typeof expectError>> | undefined;
  for (let i = 0; i < 25 && !limited; i++) {
    const code = await h.anon.auth.login({ login: "nobody", password: "Wrong password 1" }).then(
      () => Code.OK,
      (err: { code: Code }) => err.code,
    );
    if (code === Code.ResourceExhausted) {
      limited = await expectError(h.anon.auth.login({ login: "nobody", password: "Wrong password 1" }), Code.ResourceExhausted);
      expect(i).toBe(20);
    } else {
      expect(code).toBe(Code.Unauthenticated);
    }
  }
  expect(limited, "never rate limited").toBeDefined();
  expect(Number(limited!.metadata.get("retry-after"))).toBeGreaterThan(0);
  expect(await snapshot(h.db)).toEqual(before);
});
