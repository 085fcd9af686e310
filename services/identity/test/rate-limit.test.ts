import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { snapshot, startHarness, type Harness } from "./harness.js";

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
  let unauthenticated = 0;
  let limited: ConnectError | undefined;
  // Up to two windows' worth, in case the fixed window rolls over mid-test.
  for (let i = 0; i < 45 && !limited; i++) {
    const err = await h.anon.auth.login({ login: "nobody", password: "Wrong password 1" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    if (err?.code === Code.ResourceExhausted) limited = err;
    else if (err?.code === Code.Unauthenticated) unauthenticated++;
    else throw new Error(`unexpected outcome: ${String(err)}`);
  }
  expect(limited, "never rate limited").toBeDefined();
  expect(unauthenticated).toBeGreaterThanOrEqual(20);
  expect(limited!.rawMessage).toMatch(/too many requests/);
  expect(Number(limited!.metadata.get("retry-after"))).toBeGreaterThan(0);
  expect(await snapshot(h.db)).toEqual(before);
});
