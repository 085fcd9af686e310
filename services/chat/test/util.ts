import { Code, ConnectError } from "@connectrpc/connect";

/** The Connect code a call failed with, or "ok". */
export async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function inParallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  async function worker(): Promise<void> {
    for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]!();
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
