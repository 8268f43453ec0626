import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { podman } from "./podman.js";

const run = promisify(execFile);

/** A file found in an image layer. */
export interface LayerFile {
  image: string;
  layer: string;
  path: string;
}

interface ArchiveManifestEntry {
  RepoTags: string[] | null;
  Layers: string[];
}

/**
 * Every layer of the images, searched for files that carry the given content (same size, same SHA-256) or whose
 * path matches namePattern. Reads the layers as saved by `podman save`, so a file added in one layer and deleted
 * in a later one is still found.
 */
export async function findInLayers(
  images: readonly string[],
  search: { content: Buffer; namePattern: RegExp },
): Promise<LayerFile[]> {
  const wantedHash = createHash("sha256").update(search.content).digest("hex");
  const dir = await mkdtemp(join(tmpdir(), "lattice-image-layers-"));
  try {
    const archive = join(dir, "images.tar");
    await podman(
      ["save", "--multi-image-archive", "--format", "docker-archive", "--output", archive, ...images],
      300_000,
    );
    await run("tar", ["-xf", archive, "-C", dir]);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as ArchiveManifestEntry[];
    const found: LayerFile[] = [];
    for (const entry of manifest) {
      const image = entry.RepoTags?.[0] ?? "(untagged)";
      for (const layer of entry.Layers) {
        const layerTar = join(dir, layer);
        for (const { path, size } of await listLayer(layerTar)) {
          if (search.namePattern.test(path)) found.push({ image, layer, path });
          else if (size === search.content.length) {
            const { stdout } = await run("tar", ["-xOf", layerTar, path], { encoding: "buffer", maxBuffer: size + 1 });
            if (createHash("sha256").update(stdout).digest("hex") === wantedHash) found.push({ image, layer, path });
          }
        }
      }
    }
    return found;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Regular files of a layer tarball with their sizes. */
async function listLayer(layerTar: string): Promise<{ path: string; size: number }[]> {
  const { stdout } = await run("tar", ["-tvf", layerTar, "--numeric-owner", "--quoting-style=literal"], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const files: { path: string; size: number }[] = [];
  for (const line of stdout.split("\n")) {
    // -rw-r--r-- 0/0     1234 2024-01-01 00:00 path
    const match = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (match?.[1] === "-") files.push({ path: match[3]!, size: Number(match[2]) });
  }
  return files;
}
