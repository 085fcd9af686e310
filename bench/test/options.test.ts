/** Option parsing the parley-cluster target depends on: replica counts, and that it is opt-in. */
import { describe, expect, it } from "vitest";
import { parseClusterReplicas, parseOptions } from "../src/lib/options.js";

describe("--cluster-replicas", () => {
  it("defaults every service to 2 (make cluster's shape) and overrides those named", () => {
    expect(parseClusterReplicas("")).toEqual({ identity: 2, chat: 2, notification: 2, realtime: 2 });
    expect(parseClusterReplicas("chat=3,realtime=4")).toEqual({ identity: 2, chat: 3, notification: 2, realtime: 4 });
  });

  it("refuses unknown services and non-positive counts", () => {
    expect(() => parseClusterReplicas("edge=2")).toThrow(/cluster-replicas/);
    expect(() => parseClusterReplicas("chat=0")).toThrow(/cluster-replicas/);
    expect(() => parseClusterReplicas("chat=1.5")).toThrow(/cluster-replicas/);
  });

  it("is read from the flag or BENCH_CLUSTER_REPLICAS", () => {
    expect(parseOptions(["--cluster-replicas=identity=1"], {}).clusterReplicas.identity).toBe(1);
    expect(parseOptions([], { BENCH_CLUSTER_REPLICAS: "notification=3" }).clusterReplicas.notification).toBe(3);
  });
});

describe("--targets", () => {
  it("leaves parley-cluster out unless named (it needs a build and nginx)", () => {
    expect(parseOptions([], {}).targets).not.toContain("parley-cluster");
    expect(parseOptions(["--targets=parley-cluster"], {}).targets).toEqual(["parley-cluster"]);
  });
});
