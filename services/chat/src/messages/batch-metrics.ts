/**
 * Histograms of how many items share one statement (group commit, shared
 * reads): the count is the number of statements, the sum the items.
 */
import { Histogram, type Registry } from "prom-client";

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 200];

/** The registry's histogram of that name, or a new one: one registry may hold two chat modules in tests of several instances. */
export function batchHistogram<Label extends string = never>(metrics: Registry, name: string, help: string, labelNames: readonly Label[] = []): Histogram<Label> {
  const existing = metrics.getSingleMetric(name);
  if (existing instanceof Histogram) return existing as Histogram<Label>;
  return new Histogram<Label>({ name, help, labelNames, buckets: BATCH_BUCKETS, registers: [metrics] });
}
