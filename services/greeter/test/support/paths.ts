import { fileURLToPath } from "node:url";

/** The repository root, from this file's place in the build output (services/greeter/dist/test/support). */
export const repoRoot = fileURLToPath(new URL("../../../../../", import.meta.url));

/** The greeter's entry point, as containers and `npm start` run it. */
export const greeterMain = fileURLToPath(new URL("../../src/main.js", import.meta.url));
