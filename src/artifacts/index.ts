import os from "node:os";
import path from "node:path";
import { IN_MEMORY } from "../store";
import type { ArtifactStore } from "./artifact-store";
import { FileArtifactStore } from "./file-artifacts";
import { GridFsArtifactStore } from "./gridfs-artifacts";

export * from "./artifact-store";

/**
 * The one decision of where artifacts live, made like the store's: GridFS when `MONGO_URI` is set, else files under
 * `DATA_DIR/artifacts` (a per-process temp directory when state is in memory, in tests).
 */
export function createArtifactStore(options: { mongoUri?: string; dataDir: string }): ArtifactStore {
	if (options.mongoUri) return new GridFsArtifactStore(options.mongoUri);
	const dir = options.dataDir === IN_MEMORY ? path.join(os.tmpdir(), `nightshift-artifacts-${process.pid}`) : path.join(options.dataDir, "artifacts");
	return new FileArtifactStore(dir);
}
