/**
 * Polls every cluster process's /readyz while a scenario runs, so it can say which processes
 * went unready during the fault and when all of them were ready again.
 */
import type { Cluster } from "../../scripts/cluster/index.js";

interface Sample {
  at: number;
  ready: boolean;
}

export class ReadinessWatch {
  private readonly samples = new Map<string, Sample[]>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  /** Processes a scenario took away on purpose (killed, paused): not polled until it says so. */
  private readonly ignored = new Set<string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  ignore(name: string): void {
    this.ignored.add(name);
  }

  watch(name: string): void {
    this.ignored.delete(name);
  }

  /** Names of processes seen unready at some sample in [from, to]. */
  unreadyBetween(from: number, to: number): string[] {
    const out: string[] = [];
    for (const [name, samples] of this.samples) if (samples.some((s) => s.at >= from && s.at <= to && !s.ready)) out.push(name);
    return out.sort();
  }

  /**
   * The first time at or after `from` from which every watched process (but `except`) answered
   * ready (its latest sample at that time ready); undefined if that has not happened yet.
   */
  allReadySince(from: number, except: readonly string[] = []): number | undefined {
    const names = this.cluster.processes().map((p) => p.name).filter((n) => !this.ignored.has(n) && !except.includes(n));
    let at = from;
    for (const name of names) {
      const samples = (this.samples.get(name) ?? []).filter((s) => s.at >= from);
      // The last unready sample; readiness from the next sample on.
      const lastBad = samples.findLastIndex((s) => !s.ready);
      const firstGood = samples[lastBad + 1];
      if (!firstGood) return undefined;
      at = Math.max(at, firstGood.at);
    }
    return at;
  }

  private async poll(): Promise<void> {
    // One round at a time: a paused or dead process's probe waits for its timeout.
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(
        this.cluster
          .processes()
          .filter((p) => !this.ignored.has(p.name))
          .map(async (p) => {
            // Refused or no answer within 2 s = unready, as a kubelet's probe (1 s by default) sees it.
            const ready = await fetch(`http://127.0.0.1:${p.adminPort}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
              async (res) => {
                await res.arrayBuffer();
                return res.status === 200;
              },
              () => false,
            );
            const list = this.samples.get(p.name) ?? [];
            list.push({ at: Date.now(), ready });
            this.samples.set(p.name, list);
          }),
      );
    } finally {
      this.polling = false;
    }
  }
}
