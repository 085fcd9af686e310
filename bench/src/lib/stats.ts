/** Latency summaries via HdrHistogram (microsecond integers, 3 significant digits). */
import * as hdr from "hdr-histogram-js";

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const h = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (const ms of latenciesMs) h.recordValue(Math.max(0, Math.round(ms * 1000)));
  // HdrHistogram reports bucket edges, which can exceed the true max by the bucket width.
  const ms = (us: number) => Math.min(Math.round(us), h.maxValue) / 1000;
  const summary: LatencySummary = {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
  h.destroy();
  return summary;
}

export function fmtLatency(s: LatencySummary | undefined): string {
  if (!s || s.count === 0) return "n/a";
  return `p50 ${s.p50Ms} ms · p99 ${s.p99Ms} ms · max ${s.maxMs} ms (n=${s.count})`;
}
