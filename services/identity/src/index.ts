/** The identity service: accounts, sessions, profiles and the social graph. */
import { fileURLToPath } from "node:url";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { startOutboxRelay, startRetention, verificationTokenKey, type OutboxRelay, type PlatformDeps, type RetentionRunner, type ServiceModule } from "@parley/platform";
import { dummyPasswordHash } from "./domain/passwords.js";
import { startGraphReconcile } from "./events/graph-slices.js";
import { authService } from "./handlers/auth.js";
import { friendService } from "./handlers/friends.js";
import { userService } from "./handlers/users.js";
import { serveJwks } from "./http/jwks.js";
import { Sessions } from "./sessions.js";
import { identityRetentionJobs } from "./store/retention.js";
import { outbox } from "./store/schema.js";
import { startUnverifiedSweep, type UnverifiedSweep } from "./unverified-sweep.js";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

export async function createIdentityService(deps: PlatformDeps): Promise<ServiceModule> {
  const signer = deps.signer;
  if (!signer) throw new Error("identity signs access tokens: configure JWT_PRIVATE_JWK (or let it generate one under DATA_DIR)");
  const logger = deps.logger.child({ svc: "identity" });
  // Refuse to start (not fail the first Register) when verification mail can't be sealed.
  if (deps.config.emailVerification) verificationTokenKey(deps.config);
  else logger.warn("EMAIL_VERIFICATION=off: accounts are verified on register, no address is checked");
  const sessions = new Sessions(deps, signer);
  let relay: OutboxRelay | undefined;
  let sweep: UnverifiedSweep | undefined;
  let retention: RetentionRunner | undefined;
  let reconcile: { stop(): void } | undefined;

  return {
    name: "identity",
    routes(router) {
      router.service(AuthService, authService(deps, sessions));
      router.service(UserService, userService(deps));
      router.service(FriendService, friendService(deps));
    },
    http(req, res) {
      return serveJwks(signer, req, res);
    },
    async start() {
      await deps.database.migrate({ migrationsFolder: MIGRATIONS_FOLDER, schema: "identity" });
      relay = startOutboxRelay({ database: deps.database, bus: deps.bus, outbox, schemaName: "identity", logger, metrics: deps.metrics });
      sweep = startUnverifiedSweep(deps, logger);
      retention = startRetention({
        jobs: identityRetentionJobs(deps.database.db, deps.config.retention),
        intervalMs: deps.config.retention.intervalSec * 1000,
        logger,
      });
      reconcile = startGraphReconcile(deps.database.db, logger, deps.config.graphReconcileIntervalSec * 1000);
      // Computed now so the first login for an unknown user isn't measurably slower.
      await dummyPasswordHash();
      logger.info("identity started");
    },
    async stop() {
      reconcile?.stop();
      reconcile = undefined;
      await sweep?.stop();
      sweep = undefined;
      await retention?.stop();
      retention = undefined;
      await relay?.stop();
      relay = undefined;
    },
    async degraded() {
      return relay?.degraded();
    },
  };
}
