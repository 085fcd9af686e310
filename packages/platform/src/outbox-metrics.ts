/**
 * Parked-event metrics of the outbox relays of one process. Several services
 * share one registry in embedded mode, so the metrics are created once per
 * registry and each relay adds its own `schema` source.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface OutboxMetrics {
  readonly parkedTotal: Counter<"schema">;
  /** Adds a source of the parked-rows gauge; returns its removal. */
  track(schema: string, count: () => Promise<number>): () => void;
}

const perRegistry = new WeakMap<Registry, OutboxMetrics>();

export function outboxMetrics(registry: Registry): OutboxMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const sources = new Map<string, () => Promise<number>>();
  const parkedTotal = new Counter({
    name: "outbox_parked_events_total",
    help: "Outbox events parked by this process's relays (refused by the broker for good, or failing too often)",
    labelNames: ["schema"],
    registers: [registry],
  });
  new Gauge({
    name: "outbox_parked_events",
    help: "Outbox rows parked now, per service schema; any value above 0 needs an operator (parley-events outbox list)",
    labelNames: ["schema"],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...sources].map(async ([schema, count]) => {
          // A scrape must not fail because one database is slow; the series is then absent.
          const n = await count().catch(() => undefined);
          if (n !== undefined) this.set({ schema }, n);
        }),
      );
    },
  });
  const metrics: OutboxMetrics = {
    parkedTotal,
    track(schema, count) {
      sources.set(schema, count);
      return () => {
        if (sources.get(schema) === count) sources.delete(schema);
      };
    },
  };
  perRegistry.set(registry, metrics);
  return metrics;
}
