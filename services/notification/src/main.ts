/** notification as its own process (distributed mode). */
import { runStandalone } from "@parley/platform";
import { createNotificationService } from "./index.js";

await runStandalone(createNotificationService);
