/** A piece of text, marked when it matches one of the searched words. */
export interface TextPart {
  text: string;
  match: boolean;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The query's words, longest first so "chat" does not cut "chats" short. */
export function searchTerms(query: string): string[] {
  return [...new Set(query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
}

/** Splits `text` into parts, marking every case-insensitive occurrence of a search term. */
export function highlightParts(text: string, query: string): TextPart[] {
  const terms = searchTerms(query);
  if (terms.length === 0) return [{ text, match: false }];
  const pattern = new RegExp(`(${terms.map(escapeRegExp).join("|")})`, "giu");
  return text
    .split(pattern)
    .filter((part) => part !== "")
    .map((part) => ({ text: part, match: terms.includes(part.toLowerCase()) }));
}

/**
 * A long message cut to a window around its first match, so the hit is visible in one line
 * of a result row.
 */
export function snippet(text: string, query: string, radius = 60): string {
  const flat = text.replace(/\s+/g, " ");
  if (flat.length <= radius * 2) return flat;
  const lower = flat.toLowerCase();
  const first = Math.min(
    ...searchTerms(query)
      .map((t) => lower.indexOf(t))
      .filter((i) => i >= 0),
  );
  if (!Number.isFinite(first) || first < radius) return `${flat.slice(0, radius * 2)}…`;
  return `…${flat.slice(first - radius / 2, first + radius * 1.5)}…`;
}
