import { runStandalone } from "@parley/platform";
import { createChatService } from "./index.js";

await runStandalone(createChatService);
