import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "./release.js";

/**
 * The shell commands of the README's section `heading` (its first ```sh block), one per line, comments and
 * continuation lines folded, as a reader would paste them.
 */
export function readmeCommands(heading: string): string[] {
  const text = readFileSync(join(repositoryRoot, "README.md"), "utf8");
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(start));
  if (!block?.[1]) throw new Error(`README.md's section "${heading}" has no sh block`);
  const commands: string[] = [];
  let pending = "";
  for (const raw of block[1].split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trimEnd();
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    commands.push(`${pending}${line.trim()}`);
    pending = "";
  }
  return commands;
}
