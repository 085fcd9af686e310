import { onBeforeUnmount, ref, type Ref } from "vue";

/** A clock that ticks, for expiring things like typing indicators. */
export function useNow(intervalMs = 1_000): Ref<number> {
  const now = ref(Date.now());
  const timer = setInterval(() => (now.value = Date.now()), intervalMs);
  onBeforeUnmount(() => clearInterval(timer));
  return now;
}
