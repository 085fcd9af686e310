import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { snapshot, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  // The real limits: "auth" allows 20 calls a minute per client IP, 10 of them at once.
  h = await startHarness({ rateLimitScale: 1 });
});
afterAll(async () => {
  await h?.close();
});

it("answers Login with resource_exhausted and a retry-after once the auth limit is reached", async () => {
  const before = await snapshot(h.db);
  let unauthenticated = 0;
  let limited: ConnectError | undefined;
  // A different login each time, so only the per-IP limit applies (not the per-account one).
  for (let i = 0; i < 15 && !limited; i++) {
    const err = await h.anon.auth.login({ login: `nobody${i}`, password: "Wrong password 1" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    if (err?.code === Code.ResourceExhausted) limited = err;
    else if (err?.code === Code.Unauthenticated) unauthenticated++;
    else throw new Error(`unexpected outcome: ${String(err)}`);
  }
  expect(limited, "never rate limited").toBeDefined();
  // The burst, plus at most one call's worth refilled (one every 3 s) while the loop ran.
  expect(unauthenticated).toBeGreaterThanOrEqual(10);
  expect(unauthenticated).toBeLessThanOrEqual(11);
  expect(limited!.rawMessage).toMatch(/too many requests/);
  const retryAfter = Number(limited!.metadata.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(3);
  expect(await snapshot(h.db)).toEqual(before);
});
