import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Files npm rewrites in place (instead of replacing them) when it installs: copied, never hard-linked, so an install
 * in the copy cannot change the checkout.
 */
const REWRITTEN_IN_PLACE = new Set([".package-lock.json"]);

/**
 * A copy of the checkout at `root` in a new temporary folder, cheap enough for a test: the files git knows (tracked,
 * and untracked but not ignored) as copies, then every workspace's node_modules as hard links (workspace links in
 * node_modules are relative symlinks, so they point into the copy). Build outputs are not copied. Returns the
 * copy's root; the caller removes it.
 */
export function copyCheckout(root: string, prefix = "lattice-checkout-"): string {
  const copy = mkdtempSync(join(tmpdir(), prefix));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = [...new Set(listed.split("\0").filter((path) => path !== ""))];
  for (const path of files) {
    const source = join(root, path);
    if (!existsSync(source)) continue; // deleted in the working tree
    const target = join(copy, path);
    mkdirSync(dirname(target), { recursive: true });
    if (lstatSync(source).isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else copyFileSync(source, target);
  }
  // node_modules after the lockfile, so npm's record of the installed tree is the newer one, as in the checkout.
  const packageDirs = new Set(
    files.filter((path) => path === "package.json" || path.endsWith("/package.json")).map(dirname),
  );
  for (const dir of packageDirs) {
    const modules = join(root, dir, "node_modules");
    if (existsSync(modules)) linkTree(modules, join(copy, dir, "node_modules"));
  }
  return copy;
}

/** Recreates the tree at `source` under `target`: folders made, symlinks copied as they are, files hard-linked. */
function linkTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (entry.isDirectory()) linkTree(from, to);
    else if (REWRITTEN_IN_PLACE.has(entry.name)) copyFileSync(from, to);
    else linkSync(from, to);
  }
}
