import { runStandalone } from "@parley/platform";
import { createIdentityService } from "./index.js";

await runStandalone(createIdentityService);
