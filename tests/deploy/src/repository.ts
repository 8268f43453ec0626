import { fileURLToPath } from "node:url";

/** The checkout's root folder (this file is compiled to tests/deploy/dist/src). */
export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
