/** Bus metrics, read from the bus at scrape time (the bus is built before the registry). */
import { Counter, type Registry } from "prom-client";
import type { EventBus } from "../types.js";

export function registerBusMetrics(registry: Registry, bus: EventBus): void {
  if (registry.getSingleMetric("bus_dead_lettered_events_total")) return;
  new Counter({
    name: "bus_dead_lettered_events_total",
    help: "Events this process moved to the dead-letter queue after maxDeliver failed deliveries, per consumer (parley-events dlq list)",
    labelNames: ["consumer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [consumer, n] of bus.deadLetters.counts()) this.inc({ consumer }, n);
    },
  });
}
