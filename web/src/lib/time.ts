import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export function msOf(ts: Timestamp | undefined): number {
  return ts ? timestampMs(ts) : 0;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05" today, "Mar 3" before. */
export function shortTime(ms: number): string {
  if (!ms) return "";
  const date = new Date(ms);
  const now = new Date();
  return date.toDateString() === now.toDateString() ? timeFormat.format(date) : dayFormat.format(date);
}

export function fullTime(ms: number): string {
  return ms ? fullFormat.format(new Date(ms)) : "";
}

export function lastSeenText(ms: number): string {
  if (!ms) return "offline";
  const minutes = Math.round((Date.now() - ms) / 60_000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  return `last seen ${shortTime(ms)}`;
}
