/**
 * What one scenario did, counted from the load driver's records and the database (the truth of
 * what committed), and the results table / one-line summary the suite writes.
 */
import pg from "pg";
import type { LoadDriver, SendRecord } from "./load.js";

export interface ScenarioResult {
  name: string;
  what: string;
  sent: number;
  /** Sends whose RPC returned the message (possibly after retries). */
  committed: number;
  /** Rows in the database for this scenario's client message ids. */
  rows: number;
  /** Client message ids with more than one row (must be 0: a half-applied retry). */
  duplicateRows: number;
  /** Rows every recipient's client delivered. */
  deliveredToAll: number;
  /** Rows some recipient never got (must be 0). */
  lost: number;
  /** Rows a client handed its app twice (must be 0: the SDK dedupes). */
  duplicatesAfterDedupe: number;
  /** Message frames the SDK dropped as already delivered during the scenario. */
  duplicatesBeforeDedupe: number;
  /** Holes the SDK filled from history (messages that came too late or not at all over the socket). */
  gapsFilled: number;
  /** Sends that needed more than one attempt. */
  retried: number;
  /** Retried sends whose row was committed before an attempt's failure came back (the reply was lost). */
  committedBeforeFailedReply: number;
  /** Sends that never returned ok (gave up, or a failure not worth retrying). */
  gaveUp: number;
  /** Failed attempts by Connect code. */
  failures: Record<string, number>;
  /** Processes seen unready during the fault. */
  unready: string[];
  /** Fault end → sends succeed, a message sent since is delivered, and every process is ready. */
  recoverMs: number | undefined;
  /** Scenario-specific observations (presence times, pause length, ...). */
  notes: string[];
  durationMs: number;
}

interface Row {
  client_message_id: string;
  n: number;
  created_ms: number;
  seq: string;
}

/** One row per client message id of the scenario, with its count and commit time. */
async function rowsOf(databaseUrl: string, scenario: string): Promise<Map<string, Row>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const res = await db.query<Row>(
      `select client_message_id, count(*)::int as n, (extract(epoch from min(created_at)) * 1000)::float8 as created_ms,
              min(seq)::text as seq
         from chat.messages where client_message_id like $1 group by client_message_id`,
      [`${scenario}-%`],
    );
    return new Map(res.rows.map((r) => [r.client_message_id, r]));
  } finally {
    await db.end();
  }
}

export interface Counted {
  result: Omit<ScenarioResult, "what" | "unready" | "recoverMs" | "notes" | "durationMs" | "duplicatesBeforeDedupe" | "gapsFilled">;
  /** Committed rows some recipient has not (yet) got: "member index ← client message id". */
  missing: string[];
}

const recipientsOf = (r: SendRecord) => r.conversation.members.filter((m) => m !== r.sender);

export async function count(driver: LoadDriver, databaseUrl: string, scenario: string): Promise<Counted> {
  const records = driver.recordsOf(scenario);
  const rows = await rowsOf(databaseUrl, scenario);
  const failures: Record<string, number> = {};
  let retried = 0;
  let committedBeforeFailedReply = 0;
  let deliveredToAll = 0;
  let duplicatesAfterDedupe = 0;
  const missing: string[] = [];
  for (const r of records) {
    for (const a of r.attempts) if (a.outcome !== "ok") failures[a.outcome] = (failures[a.outcome] ?? 0) + 1;
    if (r.attempts.length > 1) retried++;
    const row = rows.get(r.clientMessageId);
    if (row && r.attempts.some((a) => a.outcome !== "ok" && a.endedAt > row.created_ms)) committedBeforeFailedReply++;
    const got = driver.deliveries.get(r.clientMessageId);
    for (const d of got?.values() ?? []) if (d.count > 1) duplicatesAfterDedupe++;
    if (!row) continue;
    const without = recipientsOf(r).filter((m) => !got?.has(m));
    if (without.length === 0) deliveredToAll++;
    // The cursor says which: below the seq = not delivered yet, at or above = skipped.
    else for (const m of without) missing.push(`${m} <- ${r.clientMessageId} (seq ${row.seq}, cursor ${driver.members[m]?.client.cursors()[r.conversation.id] ?? "none"})`);
  }
  const lostRows = new Set(missing.map((s) => s.split(" ")[2]));
  return {
    result: {
      name: scenario,
      sent: records.length,
      committed: records.filter((r) => r.attempts.at(-1)?.outcome === "ok").length,
      rows: rows.size,
      duplicateRows: [...rows.values()].filter((r) => r.n > 1).length,
      deliveredToAll,
      lost: lostRows.size,
      duplicatesAfterDedupe,
      retried,
      committedBeforeFailedReply,
      gaveUp: records.filter((r) => r.attempts.at(-1)?.outcome !== "ok").length,
      failures,
    },
    missing,
  };
}

/**
 * Fault end → the first send started after it that succeeded, the first delivery of a message
 * sent after it, and every process ready: the latest of the three.
 */
export function recoveryMs(driver: LoadDriver, scenario: string, faultEnd: number, allReadyAt: number | undefined): number | undefined {
  let firstOk = Number.POSITIVE_INFINITY;
  let firstDelivery = Number.POSITIVE_INFINITY;
  for (const r of driver.recordsOf(scenario)) {
    const ok = r.attempts.find((a) => a.outcome === "ok" && a.startedAt >= faultEnd);
    if (ok) firstOk = Math.min(firstOk, ok.endedAt);
    if (r.attempts[0] && r.attempts[0].startedAt >= faultEnd) {
      for (const d of driver.deliveries.get(r.clientMessageId)?.values() ?? []) firstDelivery = Math.min(firstDelivery, d.firstAt);
    }
  }
  if (allReadyAt === undefined || !Number.isFinite(firstOk) || !Number.isFinite(firstDelivery)) return undefined;
  return Math.max(firstOk, firstDelivery, allReadyAt) - faultEnd;
}

const failureText = (f: Record<string, number>) =>
  Object.entries(f)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(", ") || "none";

export function resultsTable(results: ScenarioResult[]): string {
  const head = [
    "scenario",
    "sent",
    "committed",
    "rows in DB",
    "delivered to every recipient",
    "lost",
    "dup rows",
    "dups before dedupe",
    "dups after dedupe",
    "gaps filled from history",
    "retried",
    "reply lost after commit",
    "failed attempts",
    "unready during fault",
    "recover (s)",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of results) {
    lines.push(
      `| ${[
        r.name,
        r.sent,
        r.committed,
        r.rows,
        r.deliveredToAll,
        r.lost,
        r.duplicateRows,
        r.duplicatesBeforeDedupe,
        r.duplicatesAfterDedupe,
        r.gapsFilled,
        r.retried,
        r.committedBeforeFailedReply,
        failureText(r.failures),
        r.unready.join(", ") || "none",
        r.recoverMs === undefined ? "n/a" : (r.recoverMs / 1000).toFixed(1),
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

export function summaryLine(results: ScenarioResult[]): string {
  const sum = (f: (r: ScenarioResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const worst = Math.max(0, ...results.map((r) => r.recoverMs ?? 0));
  return (
    `chaos: ${results.length} scenarios, ${sum((r) => r.sent)} sent, ${sum((r) => r.rows)} committed, ` +
    `${sum((r) => r.lost)} lost, ${sum((r) => r.duplicateRows)} duplicate rows, ${sum((r) => r.duplicatesAfterDedupe)} duplicates after dedupe ` +
    `(${sum((r) => r.duplicatesBeforeDedupe)} before), slowest recovery ${(worst / 1000).toFixed(1)} s`
  );
}
