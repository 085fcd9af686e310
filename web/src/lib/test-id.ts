import type { HTMLAttributes } from "vue";

/** Props for a kit-rendered element (dropdown option, menu item) that carry a data-testid. */
export function testIdProps(id: string, extra: HTMLAttributes = {}): HTMLAttributes {
  return { ...extra, ["data-testid" as string]: id } as HTMLAttributes;
}
