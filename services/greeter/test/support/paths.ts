import { fileURLToPath } from "node:url";

/** The repository root, from this file's place in the build output (services/greeter/dist/test/support). */
export const repoRoot = fileURLToPath(new URL("../../../../../", import.meta.url));
