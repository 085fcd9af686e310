export interface RuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  /** The server serves DevMailboxService (embedded development with DEV_MAILBOX=true); false unless it says so. */
  devMailbox: boolean;
  /** false = the server verifies accounts on register (EMAIL_VERIFICATION=off): no link is mailed. */
  emailVerification: boolean;
}

type ServerConfig = Pick<RuntimeConfig, "apiUrl" | "wsUrl"> & { devMailbox?: unknown; emailVerification?: unknown };

function isServerConfig(value: unknown): value is ServerConfig {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.apiUrl === "string" && typeof record.wsUrl === "string";
}

function sameOriginFallback(): Pick<RuntimeConfig, "apiUrl" | "wsUrl"> {
  const { protocol, hostname, origin } = window.location;
  const wsProtocol = protocol === "https:" ? "wss:" : "ws:";
  return { apiUrl: origin, wsUrl: `${wsProtocol}//${hostname}:8081/ws` };
}

/**
 * Where the API and the realtime edge live, and which dev-only helpers the server offers.
 * Build-time env wins for the URLs (vite dev against a running server); the rest always comes
 * from the server's /config.json, and without it the dev mailbox stays hidden.
 */
export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const envApi = import.meta.env.VITE_API_URL;
  const envWs = import.meta.env.VITE_WS_URL;
  const configUrl = new URL("/config.json", envApi ?? window.location.origin);
  try {
    const response = await fetch(configUrl, { cache: "no-store" });
    if (response.ok) {
      const body: unknown = await response.json();
      if (isServerConfig(body)) {
        return {
          apiUrl: envApi ?? body.apiUrl,
          wsUrl: envWs ?? body.wsUrl,
          devMailbox: body.devMailbox === true,
          emailVerification: body.emailVerification !== false,
        };
      }
    }
  } catch {
    // Served without the API (e.g. vite preview): fall through to the same-origin guess.
  }
  const fallback = sameOriginFallback();
  return { apiUrl: envApi ?? fallback.apiUrl, wsUrl: envWs ?? fallback.wsUrl, devMailbox: false, emailVerification: true };
}
