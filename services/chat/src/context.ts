import type { Database, PlatformDeps } from "@parley/platform";

/** What the handlers share: the service's database and logger. */
export interface ChatContext {
  db: Database;
  logger: PlatformDeps["logger"];
}
