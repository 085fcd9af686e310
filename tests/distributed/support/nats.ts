/** Removes the JetStream streams (and so their consumers) of one bus namespace. */
import { connect } from "nats";

export async function deleteStreams(natsUrl: string, nameSuffix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const names: string[] = [];
    for await (const info of jsm.streams.list()) if (info.config.name.endsWith(nameSuffix)) names.push(info.config.name);
    await Promise.all(names.map((name) => jsm.streams.delete(name)));
  } finally {
    await nc.close();
  }
}
