/** The one place the web app builds its API client; everything else imports `api()`. */
import { createParleyClient, type ParleyClient } from "@parley/sdk/clients";

export type ParleyApi = ParleyClient;

let current: ParleyClient | undefined;

export function initApi(apiUrl: string): ParleyClient {
  current = createParleyClient({ baseUrl: apiUrl });
  return current;
}

export function api(): ParleyClient {
  if (!current) throw new Error("api() called before initApi()");
  return current;
}
