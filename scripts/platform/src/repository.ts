import { fileURLToPath } from "node:url";

/** The checkout's root folder (this file is compiled to scripts/platform/dist/src). */
export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
