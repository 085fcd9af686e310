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

const newHistogram = () => hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, useWebAssembly: false });

/**
 * Per-delivery latencies recorded where they happen (the client workers) and shipped to the
 * runner as one compressed histogram: a full fan-out run has millions of deliveries, and sending
 * them one number each would bill the generators' CPU for IPC.
 */
export class LatencyRecorder {
  private h = newHistogram();
  record(ms: number): void {
    this.h.recordValue(Math.max(0, Math.round(ms * 1000)));
  }
  /** Compressed base64 of what was recorded since the last drain; starts afresh. */
  drain(): string {
    const out = this.h.totalCount === 0 ? "" : hdr.encodeIntoCompressedBase64(this.h);
    this.h.destroy();
    this.h = newHistogram();
    return out;
  }
}

/** Sums encoded histograms (LatencyRecorder.drain) into one summary. */
export function summarizeEncoded(parts: readonly string[]): LatencySummary {
  const h = newHistogram();
  for (const p of parts) {
    if (p === "") continue;
    const part = hdr.decodeFromCompressedBase64(p, 64, false);
    h.add(part);
    part.destroy();
  }
  return summarizeHistogram(h);
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const h = newHistogram();
  for (const ms of latenciesMs) h.recordValue(Math.max(0, Math.round(ms * 1000)));
  return summarizeHistogram(h);
}

function summarizeHistogram(h: hdr.Histogram): LatencySummary {
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
