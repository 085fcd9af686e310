/**
 * The PGlite worker thread: owns the one PGlite instance and runs what the
 * main thread sends, so WASM Postgres never blocks the event loop that serves
 * sockets and RPCs. Transactions use PGlite's own transaction() (its lock
 * keeps other statements out until COMMIT/ROLLBACK).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { createLogger } from "../logger.js";
import { openPgliteClient } from "../pglite-open.js";
import { errorFields, type ThreadOptions, type ThreadReply, type ThreadRequest } from "./protocol.js";

interface OpenTransaction {
  tx: Transaction;
  finish(commit: boolean): void;
  /** Settles after PGlite committed or rolled back. */
  done: Promise<void>;
}

const port = parentPort;
if (!port) throw new Error("pglite-thread: worker.ts runs only as a worker thread");
const options = workerData as ThreadOptions;
const post = (reply: ThreadReply): void => port.postMessage(reply);

const transactions = new Map<number, OpenTransaction>();
const unlisteners = new Map<string, () => Promise<void>>();

function beginTransaction(pg: PGlite, id: number): Promise<void> {
  return new Promise((started, failed) => {
    let finish: (commit: boolean) => void = () => undefined;
    const decided = new Promise<boolean>((resolve) => (finish = resolve));
    const done = pg
      .transaction(async (tx) => {
        transactions.set(id, { tx, finish, done });
        started();
        if (!(await decided)) await tx.rollback();
      })
      .then(() => undefined, (err: unknown) => {
        failed(err);
        throw err;
      })
      .finally(() => transactions.delete(id));
    // A failed BEGIN is reported through `failed`; nobody awaits `done` then.
    done.catch(() => undefined);
  });
}

function target(pg: PGlite, tx: number | undefined): PGlite | Transaction {
  if (tx === undefined) return pg;
  const open = transactions.get(tx);
  if (!open) throw new Error(`pglite-thread: transaction ${tx} is not open`);
  return open.tx;
}

async function handle(pg: PGlite, req: ThreadRequest): Promise<unknown> {
  switch (req.op) {
    case "query": {
      const { rows, fields, affectedRows } = await target(pg, req.tx).query(req.sql, req.params, { rowMode: req.rowMode });
      return { rows, fields, affectedRows };
    }
    case "exec":
      return (await target(pg, req.tx).exec(req.sql)).map(({ rows, fields, affectedRows }) => ({ rows, fields, affectedRows }));
    case "begin":
      return beginTransaction(pg, req.tx);
    case "end": {
      const open = transactions.get(req.tx);
      if (!open) throw new Error(`pglite-thread: transaction ${req.tx} is not open`);
      open.finish(req.commit);
      return open.done;
    }
    case "listen":
      if (!unlisteners.has(req.channel)) unlisteners.set(req.channel, await pg.listen(req.channel, () => post({ op: "notify", channel: req.channel })));
      return undefined;
    case "unlisten": {
      const unlisten = unlisteners.get(req.channel);
      unlisteners.delete(req.channel);
      await unlisten?.();
      return undefined;
    }
    case "close":
      if (!pg.closed) await pg.close();
      return undefined;
  }
}

const logger = createLogger(options.logLevel, { component: "db", kind: "pglite", thread: "pglite" });
try {
  const pg = await openPgliteClient(options.path, logger);
  port.on("message", (req: ThreadRequest) => {
    handle(pg, req).then(
      (value) => post({ op: "result", id: req.id, value }),
      (err: unknown) => post({ op: "error", id: req.id, error: errorFields(err) }),
    );
  });
  post({ op: "ready" });
} catch (err) {
  post({ op: "open-failed", error: errorFields(err) });
}
