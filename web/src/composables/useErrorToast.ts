import { useMessage } from "naive-ui";
import { describeError } from "../lib/errors";

/** Runs an action and shows its failure in words. Returns whether it succeeded. */
export function useErrorToast(): (action: () => Promise<unknown>) => Promise<boolean> {
  const message = useMessage();
  return async (action) => {
    try {
      await action();
      return true;
    } catch (err) {
      message.error(describeError(err), { duration: 5_000 });
      return false;
    }
  };
}
