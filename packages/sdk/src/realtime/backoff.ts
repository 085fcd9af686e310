/**
 * Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^n)].
 * Full jitter spreads a crowd of clients that lost the same node, instead of
 * having them retry in synchronized waves.
 */
export function backoffDelayMs(attempt: number, baseMs = 250, capMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.floor(random() * ceiling);
}
