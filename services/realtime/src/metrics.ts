import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Edge metrics. Several edge modules may share one registry (tests run two
 * nodes in one process), so each metric is created once and reused.
 */
export interface RealtimeMetrics {
  sockets: Gauge;
  framesSent: Counter;
  framesAcked: Counter;
  framesResent: Counter;
  unknownAcks: Counter;
  badFrames: Counter;
  slowConsumerCloses: Counter;
  deliveryLatency: Histogram;
  eventsDelivered: Counter;
  rateLimitedFrames: Counter<"kind">;
}

export function createRealtimeMetrics(registry: Registry): RealtimeMetrics {
  function counter(name: string, help: string): Counter {
    const existing = registry.getSingleMetric(name);
    return existing instanceof Counter ? existing : new Counter({ name, help, registers: [registry] });
  }
  function labelledCounter<L extends string>(name: string, help: string, label: L): Counter<L> {
    const existing = registry.getSingleMetric(name);
    return existing instanceof Counter ? (existing as Counter<L>) : new Counter({ name, help, labelNames: [label], registers: [registry] });
  }
  const socketsName = "parley_realtime_sockets";
  const existingGauge = registry.getSingleMetric(socketsName);
  const latencyName = "parley_realtime_delivery_latency_seconds";
  const existingHistogram = registry.getSingleMetric(latencyName);
  return {
    sockets:
      existingGauge instanceof Gauge
        ? existingGauge
        : new Gauge({ name: socketsName, help: "Open WebSockets on this process", registers: [registry] }),
    framesSent: counter("parley_realtime_frames_sent_total", "Data frames sent to sockets (first sends)"),
    framesAcked: counter("parley_realtime_frames_acked_total", "Data frames acked by clients"),
    framesResent: counter("parley_realtime_frames_resent_total", "Data frames re-sent after the ack timeout"),
    unknownAcks: counter("parley_realtime_unknown_acks_total", "Acks naming a delivery id the socket does not hold"),
    badFrames: counter("parley_realtime_bad_frames_total", "Client frames rejected as invalid"),
    slowConsumerCloses: counter("parley_realtime_slow_consumer_closes_total", "Sockets closed with 4008 (slow consumer)"),
    eventsDelivered: counter("parley_realtime_events_delivered_total", "Events this node consumed and handed to its local sockets"),
    rateLimitedFrames: labelledCounter("parley_realtime_rate_limited_total", "Frames and socket opens refused by a rate limit or the socket cap, by kind", "kind"),
    deliveryLatency:
      existingHistogram instanceof Histogram
        ? existingHistogram
        : new Histogram({
            name: latencyName,
            help: "Message created_at to first send on the socket",
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
            registers: [registry],
          }),
  };
}
