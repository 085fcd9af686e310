/** Per-conversation "last seq this device holds", kept across reloads so a resume asks only for what is missing. */
const keyFor = (userId: string): string => `parley.cursors.${userId}`;

export function loadCursors(userId: string): Record<string, bigint> {
  try {
    const raw = localStorage.getItem(keyFor(userId));
    if (!raw) return {};
    const parsed = JSON.parse(raw) as Record<string, string>;
    const cursors: Record<string, bigint> = {};
    for (const [conversationId, seq] of Object.entries(parsed)) {
      if (/^\d+$/.test(seq)) cursors[conversationId] = BigInt(seq);
    }
    return cursors;
  } catch {
    return {};
  }
}

export function saveCursors(userId: string, cursors: Record<string, bigint>): void {
  const plain: Record<string, string> = {};
  for (const [conversationId, seq] of Object.entries(cursors)) plain[conversationId] = seq.toString();
  localStorage.setItem(keyFor(userId), JSON.stringify(plain));
}
