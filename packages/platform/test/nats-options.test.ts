/** How NATS_URL and the credential/TLS settings become connect options (no server needed). */
import { describe, expect, it } from "vitest";
import { natsConnectionOptions } from "../src/bus/nats-options.js";

describe("natsConnectionOptions", () => {
  it("moves credentials out of the server address and turns TLS on for tls:// or TLS files", () => {
    const userPass = natsConnectionOptions(`nats://svc:${encodeURIComponent("p@ss/word")}@nats.internal:4333`);
    expect(userPass.options).toMatchObject({ user: "svc", pass: "p@ss/word", servers: "nats.internal:4333" });
    expect(userPass.options.tls).toBeUndefined();
    expect(userPass.display).toBe("nats://svc:***@nats.internal:4333");
    const token = natsConnectionOptions("nats://abc123token@nats.internal");
    expect(token.options).toMatchObject({ token: "abc123token", servers: "nats.internal:4222" });
    expect(token.display).not.toContain("abc123token");
    expect(natsConnectionOptions("tls://nats.internal:4222").options.tls).toEqual({});
    expect(natsConnectionOptions("nats://nats.internal:4222", { tlsCaFile: "/ca.pem", tlsCertFile: "/c.pem", tlsKeyFile: "/k.pem" }).options.tls).toEqual({
      caFile: "/ca.pem",
      certFile: "/c.pem",
      keyFile: "/k.pem",
    });
    expect(() => natsConnectionOptions("nats://h:4222", { credsFile: "/nonexistent/user.creds" })).toThrow(/NATS_CREDS_FILE/);
  });
});
