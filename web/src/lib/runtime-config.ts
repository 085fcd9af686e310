export interface RuntimeConfig {
  apiUrl: string;
  wsUrl: string;
  /** Embedded mode without SMTP: mails can be read through DevMailboxService. */
  devMailbox: boolean;
}

function isRuntimeConfig(value: unknown): value is RuntimeConfig {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.apiUrl === "string" && typeof record.wsUrl === "string";
}

function sameOriginFallback(): Omit<RuntimeConfig, "devMailbox"> {
  const { protocol, hostname, origin } = window.location;
  const wsProtocol = protocol === "https:" ? "wss:" : "ws:";
  return { apiUrl: origin, wsUrl: `${wsProtocol}//${hostname}:8081/ws` };
}

/**
 * Where the API and the realtime edge live. Build-time env wins (vite dev against a
 * running server); otherwise the server that served the page tells us in /config.json.
 */
export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const envApi = import.meta.env.VITE_API_URL;
  const envWs = import.meta.env.VITE_WS_URL;
  if (envApi && envWs) return { apiUrl: envApi, wsUrl: envWs, devMailbox: true };

  const configUrl = new URL("/config.json", envApi ?? window.location.origin);
  try {
    const response = await fetch(configUrl, { cache: "no-store" });
    if (response.ok) {
      const body: unknown = await response.json();
      if (isRuntimeConfig(body)) {
        return {
          apiUrl: envApi ?? body.apiUrl,
          wsUrl: envWs ?? body.wsUrl,
          devMailbox: (body as { devMailbox?: unknown }).devMailbox !== false,
        };
      }
    }
  } catch {
    // Served without the API (e.g. vite preview): fall through to the same-origin guess.
  }
  const fallback = sameOriginFallback();
  return { apiUrl: envApi ?? fallback.apiUrl, wsUrl: envWs ?? fallback.wsUrl, devMailbox: true };
}
