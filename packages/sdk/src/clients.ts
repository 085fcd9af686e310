/**
 * Typed Connect clients for every public Parley service over one transport.
 * The default transports come from @connectrpc/connect-web: they only need
 * `fetch`, so the same code runs in browsers and in Node 20.
 */
import { getOption } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { DevMailboxService, NotificationService } from "@parley/gen/parley/notification/v1/notification_pb";
import { policy } from "@parley/gen/parley/options/v1/options_pb";

export type ParleyProtocol = "connect" | "grpc-web";

/** Returns the current access token, or undefined when logged out. May refresh it first. */
export type AccessTokenSource = () => string | undefined | Promise<string | undefined>;

export interface ParleyClientOptions {
  /** Where the Connect API is served, e.g. "https://parley.example.com". */
  baseUrl: string;
  /** Wire protocol; "connect" (default) is also readable with curl. */
  protocol?: ParleyProtocol;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof globalThis.fetch;
  getAccessToken?: AccessTokenSource;
  /** Extra interceptors, run after the bearer-token one. */
  interceptors?: Interceptor[];
}

export interface ParleyClient {
  readonly auth: Client<typeof AuthService>;
  readonly users: Client<typeof UserService>;
  readonly friends: Client<typeof FriendService>;
  readonly conversations: Client<typeof ConversationService>;
  readonly messages: Client<typeof MessageService>;
  readonly notifications: Client<typeof NotificationService>;
  /** Only answered by servers without SMTP (embedded/dev mode). */
  readonly devMailbox: Client<typeof DevMailboxService>;
  readonly transport: Transport;
  /** Replaces where access tokens come from (a session installs itself here). */
  useAccessToken(source: AccessTokenSource | undefined): void;
}

/** Clients over a web transport (Connect or gRPC-web). */
export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  const tokens = new AccessTokenSlot(options.getAccessToken);
  const transportOptions = {
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    fetch: options.fetch,
    interceptors: [bearerTokenInterceptor(() => tokens.get()), ...(options.interceptors ?? [])],
  };
  const transport =
    (options.protocol ?? "connect") === "grpc-web" ? createGrpcWebTransport(transportOptions) : createConnectTransport(transportOptions);
  return clientsOver(transport, tokens);
}

/**
 * Clients over a transport you built yourself. Pass the same slot the
 * transport's bearer interceptor reads, so `useAccessToken` reaches it.
 */
export function clientsOver(transport: Transport, tokens: AccessTokenSlot = new AccessTokenSlot(undefined)): ParleyClient {
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UserService, transport),
    friends: createClient(FriendService, transport),
    conversations: createClient(ConversationService, transport),
    messages: createClient(MessageService, transport),
    notifications: createClient(NotificationService, transport),
    devMailbox: createClient(DevMailboxService, transport),
    transport,
    useAccessToken: (source) => tokens.set(source),
  };
}

/** A replaceable token source, shared by a transport's interceptor and its client. */
export class AccessTokenSlot {
  constructor(private source: AccessTokenSource | undefined) {}
  set(source: AccessTokenSource | undefined): void {
    this.source = source;
  }
  async get(): Promise<string | undefined> {
    return this.source?.();
  }
}

/**
 * Adds `Authorization: Bearer` to calls that need it. Methods the contract
 * marks public (login, refresh, ...) are sent without asking for a token:
 * asking would make a session refresh its token in order to refresh its token.
 */
export function bearerTokenInterceptor(getAccessToken: () => Promise<string | undefined>): Interceptor {
  return (next) => async (req) => {
    if (!req.header.has("authorization") && !getOption(req.method, policy).public) {
      const token = await getAccessToken();
      if (token) req.header.set("authorization", `Bearer ${token}`);
    }
    return next(req);
  };
}
