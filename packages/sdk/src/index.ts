/**
 * @parley/sdk: typed clients for every public Parley API (Connect or gRPC-web,
 * browsers and Node), a session that keeps tokens fresh, error wording for
 * UIs, and the realtime client. Node-only transports live in `@parley/sdk/node`.
 */
export {
  createParleyClient,
  clientsOver,
  bearerTokenInterceptor,
  AccessTokenSlot,
  type ParleyClient,
  type ParleyClientOptions,
  type ParleyProtocol,
  type AccessTokenSource,
} from "./clients.js";
export { describeError, fieldErrors, retryAfterSeconds } from "./errors.js";
export {
  createSession,
  memoryStorage,
  webLock,
  webStorage,
  type Session,
  type SessionLock,
  type SessionOptions,
  type SessionStorage,
  type SessionTokens,
} from "./session.js";
export * from "./realtime/index.js";
