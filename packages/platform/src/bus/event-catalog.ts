/**
 * The event catalog lives in the contract: each service declares the events it
 * publishes as the methods of an `…Events` service in its events.proto, with
 * `option (parley.options.v1.event) = { subject, stream }` (as RPC methods
 * declare auth and rate limits). Service code names an event
 * (`chatEvents.messageCreated`), never a subject string, so a typo is a
 * compile error rather than an event nobody routes; and the payload schema
 * travels with the subject, so publishing the wrong message type does not
 * type-check either.
 */
import { getOption, hasOption, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { event as eventOption } from "@parley/gen/parley/options/v1/options_pb";
import { STREAMS, subjectMatches } from "./subjects.js";

/** One declared event: where it travels and what it carries. */
export interface EventType<Schema extends DescMessage = DescMessage> {
  /** `parley.<service>.<entity>.<verb>`. */
  readonly subject: string;
  /** The JetStream stream that keeps it. */
  readonly stream: string;
  readonly schema: Schema;
  /** `parley.chat.v1.ChatEvents.MessageCreated`, for errors and logs. */
  readonly name: string;
}

type MethodsOf<S extends DescService> = S extends { method: infer M } ? M : never;

/** The typed catalog of one `…Events` service: one EventType per method, keyed like `service.method`. */
export type EventCatalog<S extends DescService> = {
  readonly [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends { input: infer I extends DescMessage } ? EventType<I> : never;
};

const SUBJECT_SHAPE = /^parley\.[a-z]+\.[a-z_]+\.[a-z_]+$/;

/** Reads and checks one method's EventSpec; throws naming the method when the contract is wrong. */
export function eventTypeOf(method: DescMethod): EventType {
  const name = `${method.parent.typeName}.${method.name}`;
  if (!hasOption(method, eventOption)) throw new Error(`event catalog: ${name} has no (parley.options.v1.event) option`);
  const { subject, stream } = getOption(method, eventOption);
  if (!SUBJECT_SHAPE.test(subject)) throw new Error(`event catalog: ${name} subject "${subject}" is not parley.<service>.<entity>.<verb>`);
  const spec = STREAMS.find((s) => s.name === stream);
  if (!spec) throw new Error(`event catalog: ${name} names stream "${stream}", which is not one of ${STREAMS.map((s) => s.name).join(", ")}`);
  if (!spec.subjects.some((filter) => subjectMatches(filter, subject))) {
    throw new Error(`event catalog: ${name} subject "${subject}" is not stored by stream ${stream} (${spec.subjects.join(", ")})`);
  }
  return { subject, stream, schema: method.input, name };
}

/** The catalog of one `…Events` service; throws at load time if any declaration is wrong or a subject repeats. */
export function eventCatalog<S extends DescService>(service: S): EventCatalog<S> {
  const catalog: Record<string, EventType> = {};
  const seen = new Set<string>();
  for (const method of service.methods) {
    const type = eventTypeOf(method);
    if (seen.has(type.subject)) throw new Error(`event catalog: ${service.typeName} declares subject "${type.subject}" twice`);
    seen.add(type.subject);
    catalog[method.localName] = type;
  }
  // The mapped type is exactly what the loop builds: one EventType per method, keyed by localName.
  return catalog as EventCatalog<S>;
}

/**
 * One consumer filter covering exactly these events' common subject prefix
 * (`parley.chat.>` for all of chat's, the subject itself for one event). A
 * consumer keeps one filter per group of events rather than one per event:
 * on servers without multi-filter consumers each filter is a consumer of its
 * own, and events of different consumers have no order between them.
 */
export function filterFor(events: readonly EventType[]): string {
  const first = events[0];
  if (!first) throw new Error("event catalog: filterFor needs at least one event");
  if (events.every((e) => e.subject === first.subject)) return first.subject;
  const split = events.map((e) => e.subject.split("."));
  const common: string[] = [];
  for (let i = 0; split.every((tokens) => tokens.length > i + 1 && tokens[i] === split[0]![i]); i++) common.push(split[0]![i]!);
  if (common.length < 2) throw new Error(`event catalog: ${events.map((e) => e.name).join(", ")} share no service prefix`);
  return `${common.join(".")}.>`;
}
