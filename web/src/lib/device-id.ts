/** Stable per tab (sessionStorage survives reloads of the same tab), for the edge's diagnostics. */
export function deviceId(): string {
  const key = "parley.deviceId";
  let id = sessionStorage.getItem(key);
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    sessionStorage.setItem(key, id);
  }
  return id;
}
