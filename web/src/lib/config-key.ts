import type { InjectionKey } from "vue";
import type { RuntimeConfig } from "./runtime-config";

export const runtimeConfigKey: InjectionKey<RuntimeConfig> = Symbol("runtimeConfig");
