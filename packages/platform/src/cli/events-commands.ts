/**
 * `parley-events`: the operator's tool for events that did not get through.
 *
 *   dlq list [--consumer <durable>] [--limit <n>]
 *   dlq replay <seq>... | dlq replay --consumer <durable> --all
 *   dlq drop <seq>...
 *   outbox list <schema> [--limit <n>]
 *   outbox replay <schema> <id>... | outbox replay <schema> --all
 *   outbox drop <schema> <id>...
 *
 * Dead letters are replayed to their consumer only; parked outbox rows are put
 * back in line and published by the service's relay. Output is one JSON
 * object per line (payloads are not printed: they may hold personal data).
 */
import { listParked, dropParked, unparkRows } from "../outbox-admin.js";
import type { Database, DeadLetter, EventBus } from "../types.js";

export interface EventsCommandDeps {
  /** Needed by `dlq …`. */
  bus?: EventBus;
  /** Needed by `outbox …`. */
  db?: Database;
  print(line: string): void;
}

export const USAGE = `usage:
  parley-events dlq list [--consumer <durable>] [--limit <n>]
  parley-events dlq replay <seq>... | --consumer <durable> --all
  parley-events dlq drop <seq>...
  parley-events outbox list <schema> [--limit <n>]
  parley-events outbox replay <schema> <id>... | <schema> --all
  parley-events outbox drop <schema> <id>...`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parse(args: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (name === "all") flags.set(name, true);
    else {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    }
  }
  return { positional, flags };
}

function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

function limitOf(p: Parsed): number {
  const raw = stringFlag(p, "limit") ?? "100";
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError(`--limit must be 1-10000, got ${raw}`);
  return n;
}

function seqs(values: string[]): number[] {
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`"${v}" is not a dead-letter sequence number`);
    return n;
  });
}

function describe(letter: DeadLetter): Record<string, unknown> {
  const { data, ...rest } = letter;
  return { ...rest, bytes: data.byteLength, deadAt: new Date(letter.deadAtMs).toISOString() };
}

export async function runEventsCommand(args: string[], deps: EventsCommandDeps): Promise<void> {
  const [area, action, ...rest] = args;
  const p = parse(rest);
  const out = (value: unknown): void => deps.print(JSON.stringify(value));
  if (area === "dlq") {
    const bus = deps.bus;
    if (!bus) throw new UsageError("dlq commands need the bus (NATS_URL)");
    if (action === "list") {
      const consumer = stringFlag(p, "consumer");
      for (const l of await bus.deadLetters.list({ limit: limitOf(p), ...(consumer ? { consumer } : {}) })) out(describe(l));
      return;
    }
    if (action === "replay" || action === "drop") {
      let targets = seqs(p.positional);
      if (p.flags.get("all") === true) {
        const consumer = stringFlag(p, "consumer");
        if (!consumer) throw new UsageError(`dlq ${action} --all needs --consumer`);
        targets = (await bus.deadLetters.list({ consumer, limit: 10_000 })).map((l) => l.seq);
      }
      if (targets.length === 0) throw new UsageError(`dlq ${action} needs sequence numbers or --consumer <durable> --all`);
      for (const seq of targets) {
        if (action === "replay") out({ replayed: describe(await bus.deadLetters.replay(seq)) });
        else {
          await bus.deadLetters.drop(seq);
          out({ dropped: seq });
        }
      }
      return;
    }
  }
  if (area === "outbox") {
    const db = deps.db;
    if (!db) throw new UsageError("outbox commands need the database (DATABASE_URL)");
    const [schema, ...ids] = p.positional;
    if (!schema) throw new UsageError(`outbox ${action ?? ""} needs a schema (identity, chat, notification)`);
    if (action === "list") {
      for (const row of await listParked(db, schema, limitOf(p))) out(row);
      return;
    }
    if (action === "replay") {
      const all = p.flags.get("all") === true;
      if (!all && ids.length === 0) throw new UsageError("outbox replay needs ids or --all");
      out({ unparked: await unparkRows(db, schema, all ? "all" : ids) });
      return;
    }
    if (action === "drop") {
      if (ids.length === 0) throw new UsageError("outbox drop needs ids");
      out({ dropped: await dropParked(db, schema, ids) });
      return;
    }
  }
  throw new UsageError(USAGE);
}
