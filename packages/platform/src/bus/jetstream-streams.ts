import type { JetStreamManager, StreamConfig } from "nats";

/** Creates the stream, or brings an existing one to `config` (new subjects, limits). */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (addErr) {
    try {
      await jsm.streams.update(config.name, config);
    } catch (updateErr) {
      throw new Error(`bus: cannot create or update stream ${config.name}`, { cause: new AggregateError([addErr, updateErr]) });
    }
  }
}
