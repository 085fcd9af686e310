import { onBeforeUnmount, ref, type Ref } from "vue";

const phoneQuery = "(max-width: 767px)";

/** True at phone width, where list and chat are one pane each. */
export function useIsPhone(): Ref<boolean> {
  const media = window.matchMedia(phoneQuery);
  const isPhone = ref(media.matches);
  const update = (event: MediaQueryListEvent): void => {
    isPhone.value = event.matches;
  };
  media.addEventListener("change", update);
  onBeforeUnmount(() => media.removeEventListener("change", update));
  return isPhone;
}
