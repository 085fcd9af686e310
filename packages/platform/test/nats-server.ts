/** Private nats-servers for tests that kill and restart the broker or need a cluster (the shared one serves other engineers' tests). */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** `extraArgs`: auth, TLS or `-c <config>` for tests of how the bus connects. */
export function startNatsServer(port: number, storeDir: string, extraArgs: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`nats-server exited with ${code}: ${log}`)));
  });
}

export function killNatsServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}


export interface NatsCluster {
  /** One node's client URL: NATS_URL names one address and the client learns the rest from the cluster. */
  url: string;
  urls: string[];
  nodes: ChildProcess[];
  stop(): Promise<void>;
}

/**
 * A private JetStream cluster of `size` nodes on free 127.0.0.1 ports, each with its own store
 * under `baseDir`, all routed to each other. Resolves when every node has said it is ready;
 * the JetStream meta leader may still be being elected (callers retry their first request).
 */
export async function startNatsCluster(size: number, baseDir: string): Promise<NatsCluster> {
  const clientPorts: number[] = [];
  const clusterPorts: number[] = [];
  // One at a time: two freePort calls in flight could be handed the same port.
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    clusterPorts.push(await freePort());
  }
  const routes = clusterPorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const started = await Promise.allSettled(
    clientPorts.map((port, i) =>
      startNatsServer(port, join(baseDir, `n${i}`), [
        "-n",
        `parley-test-n${i}`,
        "--cluster_name",
        "parley-test",
        "--cluster",
        `nats://127.0.0.1:${clusterPorts[i]}`,
        "--routes",
        routes,
      ]),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(killNatsServer));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
  return { url: urls[0] ?? "", urls, nodes, stop };
}
