/**
 * Settings an operator must not miss, shown in every /readyz answer (ready or
 * not) next to the checks: a deployment that skips email verification says so.
 */
import type { PlatformConfig } from "../config.js";

export function configNotices(config: PlatformConfig): Record<string, string> {
  const notices: Record<string, string> = {};
  if (!config.emailVerification) notices.emailVerification = "off: accounts are verified on register (EMAIL_VERIFICATION=off)";
  return notices;
}
