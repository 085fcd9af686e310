import { defineStore } from "pinia";
import { computed, ref, watch } from "vue";

export type ThemePreference = "system" | "light" | "dark";
const storageKey = "parley.theme";

function readPreference(): ThemePreference {
  const stored = localStorage.getItem(storageKey);
  return stored === "light" || stored === "dark" ? stored : "system";
}

export const useThemeStore = defineStore("theme", () => {
  const preference = ref<ThemePreference>(readPreference());
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  const systemDark = ref(media.matches);
  media.addEventListener("change", (event) => (systemDark.value = event.matches));

  const isDark = computed(() => (preference.value === "system" ? systemDark.value : preference.value === "dark"));

  watch(preference, (value) => {
    if (value === "system") localStorage.removeItem(storageKey);
    else localStorage.setItem(storageKey, value);
  });
  watch(
    isDark,
    (dark) => {
      document.documentElement.dataset.theme = dark ? "dark" : "light";
      document.documentElement.style.colorScheme = dark ? "dark" : "light";
    },
    { immediate: true },
  );

  /** The toggle flips what is shown; choosing the system's own look goes back to following it. */
  function toggle(): void {
    const nextDark = !isDark.value;
    preference.value = nextDark === systemDark.value ? "system" : nextDark ? "dark" : "light";
  }

  return { preference, isDark, toggle };
});
