/**
 * Publish failures the broker will give the same answer to however often the
 * event is retried (too large for the server's max_payload, a subject no
 * stream stores). The outbox relay parks such rows at once instead of letting
 * them block every later event; any other publish error is treated as
 * transient (the broker is down or slow) and retried in order.
 */
export class UnpublishableEventError extends Error {
  override readonly name = "UnpublishableEventError";
}

/**
 * The broker did not answer (timeout, connection lost, JetStream not
 * responding). Never held against the event: the outbox waits, in order,
 * however long the outage lasts.
 */
export class BrokerUnavailableError extends Error {
  override readonly name = "BrokerUnavailableError";
}

/**
 * Largest event payload `enqueueEvent` accepts. NATS' default `max_payload`
 * is 1 MiB and the in-process bus enforces the same; half of it leaves room
 * for headers and for servers configured somewhat lower, so an event that
 * was accepted in a transaction can always be published.
 */
export const MAX_EVENT_BYTES = 512 * 1024;

/** The in-process bus's equivalent of NATS' default `max_payload`. */
export const MEMORY_MAX_PAYLOAD_BYTES = 1024 * 1024;
