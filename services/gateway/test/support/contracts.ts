import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/support → the package, then the checkout.
const packageDir = join(here, "..", "..", "..");
const root = join(packageDir, "..", "..");

/**
 * A registry of a test contract folder (test/proto or test/proto-conflict), built with the workspace's buf beside the
 * vendored google/api protos, as `npm run generate` builds the real one.
 */
export function testRegistry(folder: "proto" | "proto-conflict"): FileRegistry {
  const work = mkdtempSync(join(tmpdir(), "gateway-contracts-"));
  try {
    cpSync(join(packageDir, "test", folder), work, { recursive: true });
    cpSync(join(root, "proto", "google", "api"), join(work, "google", "api"), { recursive: true });
    cpSync(join(root, "proto", "google", "rpc"), join(work, "google", "rpc"), { recursive: true });
    const out = join(work, "set.binpb");
    execFileSync(join(root, "node_modules", ".bin", "buf"), ["build", work, "--exclude-source-info", "-o", out], {
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 60_000,
    });
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
