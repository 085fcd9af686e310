/**
 * The event catalog in the contract (proto/parley/<svc>/v1/events.proto): every
 * declared event loads, subjects are unique across services and each lands in
 * the stream it names; a method without a declaration is refused by name.
 */
import { describe, expect, it } from "vitest";
import { ChatEvents } from "@parley/gen/parley/chat/v1/events_pb";
import { IdentityEvents } from "@parley/gen/parley/identity/v1/events_pb";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { NotificationEvents } from "@parley/gen/parley/notification/v1/events_pb";
import { RealtimeEvents } from "@parley/gen/parley/realtime/v1/events_pb";
import { MessageEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { eventCatalog, eventTypeOf, filterFor, type EventType } from "../src/bus/event-catalog.js";
import { streamForSubject } from "../src/bus/subjects.js";

const catalogs = [ChatEvents, IdentityEvents, NotificationEvents, RealtimeEvents].map((service) => eventCatalog(service));
const all: EventType[] = catalogs.flatMap((c) => Object.values(c) as EventType[]);

describe("event catalog", () => {
  it("declares every event once, each in the stream the bus would store it in", () => {
    expect(all.length).toBeGreaterThan(20);
    expect(new Set(all.map((e) => e.subject)).size).toBe(all.length);
    for (const event of all) expect(streamForSubject(event.subject).name, event.name).toBe(event.stream);
  });

  it("carries the payload schema with the subject", () => {
    const chat = eventCatalog(ChatEvents);
    expect(chat.messageCreated).toMatchObject({ subject: "parley.chat.message.created", stream: "PARLEY", name: "parley.chat.v1.ChatEvents.MessageCreated" });
    expect(chat.messageCreated.schema).toBe(MessageEventSchema);
    expect(eventCatalog(RealtimeEvents).typingStarted.stream).toBe("PARLEY_SIGNALS");
  });

  it("refuses a method that declares no event, naming it", () => {
    expect(() => eventTypeOf(AuthService.method.login)).toThrow(/parley\.identity\.v1\.AuthService\.Login has no \(parley\.options\.v1\.event\) option/);
  });
});

describe("filterFor", () => {
  const chat = eventCatalog(ChatEvents);
  const identity = eventCatalog(IdentityEvents);
  it("covers a group of events with their common prefix, one event with its subject", () => {
    expect(filterFor(Object.values(chat) as EventType[])).toBe("parley.chat.>");
    expect(filterFor([identity.friendRequestCreated, identity.friendRequestCanceled])).toBe("parley.identity.friend_request.>");
    expect(filterFor([identity.blockCreated])).toBe("parley.identity.block.created");
  });
  it("refuses events of different services", () => {
    expect(() => filterFor([chat.messageCreated, identity.blockCreated])).toThrow(/share no service prefix/);
  });
});
