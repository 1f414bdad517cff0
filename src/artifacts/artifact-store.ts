/** A stored file a task produced (a screenshot), served at `GET /api/artifacts/:id`. */
export interface ArtifactMeta {
	id: string;
	contentType: string;
	size: number;
	taskId?: string;
	name?: string;
	createdAt: string;
}

export interface ArtifactInput {
	contentType: string;
	taskId?: string;
	name?: string;
}

/** Where artifacts live: files under `DATA_DIR/artifacts` (embedded) or GridFS (MongoDB), chosen in one place. */
export interface ArtifactStore {
	put(data: Buffer, input: ArtifactInput): Promise<ArtifactMeta>;
	/** The artifact, or null when there is none with this id. */
	get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | null>;
	close(): Promise<void>;
}

/** Artifact ids are generated ids: anything else is refused before it reaches a path or a query. */
export const ARTIFACT_ID = /^[a-z0-9]{12,40}$/;
