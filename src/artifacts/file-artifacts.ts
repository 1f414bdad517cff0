import fs from "node:fs/promises";
import path from "node:path";
import { newId } from "../ids";
import { isoNow } from "../time";
import { ARTIFACT_ID, ArtifactInput, ArtifactMeta, ArtifactStore } from "./artifact-store";

/** Artifacts as files: `<id>` holds the bytes, `<id>.json` the metadata. Written to a temp name, then renamed. */
export class FileArtifactStore implements ArtifactStore {
	constructor(private readonly dir: string) {}

	async put(data: Buffer, input: ArtifactInput): Promise<ArtifactMeta> {
		await fs.mkdir(this.dir, { recursive: true });
		const meta: ArtifactMeta = { id: newId(), contentType: input.contentType, size: data.length, createdAt: isoNow() };
		if (input.taskId) meta.taskId = input.taskId;
		if (input.name) meta.name = input.name;
		const file = path.join(this.dir, meta.id);
		await fs.writeFile(`${file}.tmp`, data);
		await fs.rename(`${file}.tmp`, file);
		await fs.writeFile(`${file}.json`, JSON.stringify(meta));
		return meta;
	}

	async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | null> {
		if (!ARTIFACT_ID.test(id)) return null;
		const file = path.join(this.dir, id);
		try {
			const [meta, data] = await Promise.all([fs.readFile(`${file}.json`, "utf8"), fs.readFile(file)]);
			return { meta: JSON.parse(meta), data };
		} catch (err: any) {
			if (err?.code === "ENOENT") return null;
			throw err;
		}
	}

	async close(): Promise<void> {}
}
