import { GridFSBucket, MongoClient } from "mongodb";
import { newId } from "../ids";
import { isoNow } from "../time";
import { ARTIFACT_ID, ArtifactInput, ArtifactMeta, ArtifactStore } from "./artifact-store";

/** Artifacts in GridFS (bucket `artifacts`), so every node of a cluster reads what any node wrote. */
export class GridFsArtifactStore implements ArtifactStore {
	private readonly client: MongoClient;
	private bucket?: GridFSBucket;

	constructor(uri: string) {
		this.client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
	}

	private async open(): Promise<GridFSBucket> {
		if (!this.bucket) {
			await this.client.connect();
			this.bucket = new GridFSBucket(this.client.db(), { bucketName: "artifacts" });
		}
		return this.bucket;
	}

	async put(data: Buffer, input: ArtifactInput): Promise<ArtifactMeta> {
		const bucket = await this.open();
		const meta: ArtifactMeta = { id: newId(), contentType: input.contentType, size: data.length, createdAt: isoNow() };
		if (input.taskId) meta.taskId = input.taskId;
		if (input.name) meta.name = input.name;
		await new Promise<void>((resolve, reject) => {
			const upload = bucket.openUploadStreamWithId(meta.id as any, input.name ?? meta.id, { metadata: meta });
			upload.once("finish", () => resolve());
			upload.once("error", reject);
			upload.end(data);
		});
		return meta;
	}

	async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | null> {
		if (!ARTIFACT_ID.test(id)) return null;
		const bucket = await this.open();
		const [file] = await bucket.find({ _id: id as any }).limit(1).toArray();
		if (!file) return null;
		const chunks: Buffer[] = [];
		for await (const chunk of bucket.openDownloadStream(id as any)) chunks.push(chunk as Buffer);
		return { meta: file.metadata as ArtifactMeta, data: Buffer.concat(chunks) };
	}

	async close(): Promise<void> {
		await this.client.close();
	}
}
