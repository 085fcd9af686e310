/** A minimal typed event emitter (no Node `events` dependency: runs in browsers). */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  /**
   * Listener arrays emit() iterates, rebuilt only after on/off: emit runs for
   * every message, and copying the set each time was a per-frame allocation.
   * A new array (never a mutated one) keeps (un)subscribing during emit from
   * changing who gets the event being emitted.
   */
  private readonly snapshots = new Map<keyof Events, ReadonlyArray<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    this.snapshots.delete(event);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
    this.snapshots.delete(event);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    let snapshot = this.snapshots.get(event);
    if (!snapshot) {
      const set = this.listeners.get(event);
      if (!set) return;
      this.snapshots.set(event, (snapshot = [...set]));
    }
    for (const listener of snapshot) {
      try {
        (listener as (p: Events[K]) => void)(payload);
      } catch (err) {
        // A throwing app listener must not break delivery (acks, cursors) for the others.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
