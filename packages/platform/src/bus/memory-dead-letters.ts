/**
 * The in-process bus's dead-letter queue: a bounded list (embedded mode keeps
 * everything in RAM), oldest dropped first with an error log, so a handler
 * failing for every event cannot grow it without limit.
 */
import type { Logger } from "pino";
import type { DeadLetter, DeadLetterQueue } from "../types.js";

export const MEMORY_DEAD_LETTER_CAPACITY = 1_000;

export type NewDeadLetter = Omit<DeadLetter, "seq" | "deadAtMs">;

export class MemoryDeadLetters implements DeadLetterQueue {
  private readonly letters: DeadLetter[] = [];
  private nextSeq = 1;
  private readonly perConsumer = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    /** Appends the event to its stream again, for `consumer` only. */
    private readonly republish: (letter: DeadLetter) => void,
    private readonly capacity = MEMORY_DEAD_LETTER_CAPACITY,
  ) {}

  put(letter: NewDeadLetter): DeadLetter {
    const stored: DeadLetter = { ...letter, data: letter.data.slice(), seq: this.nextSeq++, deadAtMs: Date.now() };
    this.letters.push(stored);
    this.perConsumer.set(letter.consumer, (this.perConsumer.get(letter.consumer) ?? 0) + 1);
    while (this.letters.length > this.capacity) {
      const lost = this.letters.shift()!;
      this.logger.error({ consumer: lost.consumer, eventId: lost.eventId, subject: lost.subject }, "in-memory dead-letter queue full; oldest dead letter discarded");
    }
    return stored;
  }

  async list(opts: { consumer?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const matching = this.letters.filter((l) => opts.consumer === undefined || l.consumer === opts.consumer);
    return matching.slice(0, opts.limit ?? matching.length);
  }

  async replay(seq: number): Promise<DeadLetter> {
    const letter = this.take(seq);
    this.republish(letter);
    return letter;
  }

  async drop(seq: number): Promise<void> {
    this.take(seq);
  }

  counts(): ReadonlyMap<string, number> {
    return this.perConsumer;
  }

  private take(seq: number): DeadLetter {
    const i = this.letters.findIndex((l) => l.seq === seq);
    if (i < 0) throw new Error(`dead letter ${seq} not found`);
    return this.letters.splice(i, 1)[0]!;
  }
}
