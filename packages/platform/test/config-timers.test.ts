/** PRESENCE_TTL and BUS_ACK_WAIT: seconds in the environment, milliseconds in the config; defaults as before they existed. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

describe("presence TTL and bus ack wait settings", () => {
  it("default to 60 s and 30 s", () => {
    const config = loadConfig({});
    expect(config.presenceTtlMs).toBe(60_000);
    expect(config.busAckWaitMs).toBe(30_000);
  });

  it("take whole seconds", () => {
    const config = loadConfig({ PRESENCE_TTL: "4", BUS_ACK_WAIT: "3" });
    expect(config.presenceTtlMs).toBe(4_000);
    expect(config.busAckWaitMs).toBe(3_000);
  });

  it("refuse zero and non-numbers", () => {
    expect(() => loadConfig({ PRESENCE_TTL: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ BUS_ACK_WAIT: "soon" })).toThrow(ConfigError);
  });
});
