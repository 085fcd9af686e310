/**
 * Main-thread side of the PGlite worker thread: the part of PGlite's API that
 * drizzle's PGlite driver and DatabaseHandle use (query, exec, transaction,
 * listen, close), each call one message to the worker.
 */
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Results } from "@electric-sql/pglite";
import { errorFrom, type ErrorFields, type RowMode, type ThreadOptions, type ThreadReply, type ThreadRequest } from "./protocol.js";

type Request = ThreadRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface ThreadQueryable {
  query<T>(sql: string, params?: unknown[], options?: { rowMode?: RowMode }): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
}

export interface ThreadTransaction extends ThreadQueryable {
  rollback(): Promise<void>;
  readonly closed: boolean;
}

/**
 * Every process start and every test starts this worker, and it runs as
 * TypeScript like the rest of the code: tsx's loader hooks do not reach
 * worker threads on Node 20, so the worker registers them itself.
 */
function workerBootstrap(): string {
  // The ESM entry of tsx's API (its CommonJS one cannot register ESM hooks), resolved here: an
  // eval'd worker resolves bare names from the working directory, not from this package.
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve("tsx/package.json");
  const manifest = require(manifestPath) as { exports: Record<string, { import: { default: string } }> };
  const api = manifest.exports["./esm/api"]?.import.default;
  if (!api) throw new Error(`pglite-thread: ${manifestPath} has no ESM export ./esm/api`);
  const tsx = pathToFileURL(join(dirname(manifestPath), api)).href;
  const entry = new URL("./worker.ts", import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
}

export class PgliteThreadClient implements ThreadQueryable {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #nextId = 1;
  #nextTx = 1;
  #closed = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the worker and waits until PGlite is open in it. */
  static async open(options: ThreadOptions): Promise<PgliteThreadClient> {
    const worker = new Worker(workerBootstrap(), { eval: true, workerData: options, execArgv: [] });
    const client = new PgliteThreadClient(worker);
    await new Promise<void>((ready, failed) => {
      const onExit = (code: number) => failed(new Error(`pglite-thread: worker exited with code ${code} before PGlite opened`));
      worker.once("error", failed);
      worker.once("exit", onExit);
      worker.on("message", (reply: ThreadReply) => {
        if (reply.op === "ready") {
          worker.off("error", failed);
          worker.off("exit", onExit);
          ready();
        } else if (reply.op === "open-failed") {
          failed(errorFrom(reply.error));
        } else {
          client.#onReply(reply);
        }
      });
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    worker.on("error", (err) => client.#failAll(err));
    worker.on("exit", (code) => client.#failAll(new Error(`pglite-thread: worker exited with code ${code}`)));
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onReply(reply: ThreadReply): void {
    if (reply.op === "notify") {
      for (const onNotify of this.#listeners.get(reply.channel) ?? []) onNotify();
      return;
    }
    if (reply.op !== "result" && reply.op !== "error") return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.op === "result") pending.resolve(reply.value);
    else pending.reject(errorFrom(reply.error as ErrorFields));
  }

  #failAll(err: Error): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
  }

  #call<T>(request: Request): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`pglite-thread: closed; cannot ${request.op}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ ...request, id } as ThreadRequest);
    });
  }

  query<T>(sql: string, params: unknown[] = [], options?: { rowMode?: RowMode }, tx?: number): Promise<Results<T>> {
    return this.#call({ op: "query", sql, params, rowMode: options?.rowMode ?? "object", ...(tx === undefined ? {} : { tx }) });
  }

  exec(sql: string, tx?: number): Promise<Results[]> {
    return this.#call({ op: "exec", sql, ...(tx === undefined ? {} : { tx }) });
  }

  /** PGlite's transaction(): commits when `fn` resolves, rolls back when it throws or calls rollback(). */
  async transaction<T>(fn: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
    const id = this.#nextTx++;
    await this.#call({ op: "begin", tx: id });
    let closed = false;
    let rolledBack = false;
    const tx: ThreadTransaction = {
      query: (sql, params, options) => this.query(sql, params, options, id),
      exec: (sql) => this.exec(sql, id),
      rollback: async () => {
        rolledBack = true;
      },
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      closed = true;
      await this.#call({ op: "end", tx: id, commit: false }).catch(() => undefined);
      throw err;
    }
    closed = true;
    await this.#call({ op: "end", tx: id, commit: !rolledBack });
    return result;
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    set.add(onNotify);
    await this.#call({ op: "listen", channel });
    return async () => {
      set.delete(onNotify);
      if (set.size > 0 || this.#listeners.get(channel) !== set) return;
      this.#listeners.delete(channel);
      if (!this.#closed) await this.#call({ op: "unlisten", channel });
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#call({ op: "close" }).catch(() => undefined);
    this.#closed = true;
    await this.#worker.terminate();
  }
}
