import {
	GroupNotEmptyError,
	GroupNotFoundError,
	ProfileAlreadyActiveError,
	ProfileDisabledError,
	ProfileNotFoundError
} from "../errors";
import type { Fingerprint } from "../browser/fingerprint";
import { newId } from "../ids";
import type { Collection, Doc, Query } from "../store";
import { type Cookie, type CookieFormat, formatCookies, parseCookies } from "./cookie-formats";
import { EMPTY_STATE, type OriginStorage, type ProfileState, type StateInfo, stateInfo } from "./profile-state";
import type { Sealed, SecretBox } from "./secret-box";

export type ProfileStatus = "idle" | "running" | "disabled";

export interface ProxyConfig {
	/** `http://host:port` */
	server: string;
	username?: string;
	password?: string;
}

/** A profile as stored: cookies, localStorage and proxy credentials sealed; the rest in clear for queries. */
export interface ProfileDoc extends Doc {
	name: string;
	groupId: string | null;
	notes: string;
	tags: string[];
	fingerprint: Fingerprint;
	proxy: { server: string; credentials: Sealed | null } | null;
	state: Sealed | null;
	stateInfo: StateInfo;
	persistIndexedDB: boolean;
	status: ProfileStatus;
	createdAt: string;
	updatedAt: string;
	/** Set by session starts only (shared/seeds/000 §3.2): never by stops or edits. */
	lastUsedAt: string | null;
}

export interface GroupDoc extends Doc {
	name: string;
	createdAt: string;
	updatedAt: string;
}

export interface ProfileInput {
	name: string;
	groupId?: string | null;
	notes?: string;
	tags?: string[];
	fingerprint?: Fingerprint;
	proxy?: ProxyConfig | null;
	localStorage?: OriginStorage[];
	persistIndexedDB?: boolean;
	status?: "idle" | "disabled";
}

/** What a caller sees: no sealed field, no credential. */
export function publicProfile(doc: ProfileDoc) {
	const { _id, state: _state, proxy, ...rest } = doc;
	return { id: _id, ...rest, proxy: proxy ? { server: proxy.server, hasCredentials: proxy.credentials !== null } : null };
}
export type PublicProfile = ReturnType<typeof publicProfile>;

/** What a browser node needs to open a profile's session; the sealed parts are opened there. */
export interface StartMaterial {
	profile: PublicProfile;
	state: Sealed | null;
	proxy: { server: string; credentials: Sealed | null } | null;
}

export interface ListQuery {
	groupId?: string;
	tag?: string;
	status?: ProfileStatus;
	sort?: "lastUsedAt" | "-lastUsedAt" | "createdAt" | "-createdAt" | "name" | "-name" | "updatedAt" | "-updatedAt";
	limit?: number;
	offset?: number;
}

/**
 * Profiles and groups with the timestamp rules of shared/seeds/000: a start sets `lastUsedAt = updatedAt = now`, a
 * stop and an edit set `updatedAt` only, a snapshot of a running session sets neither (it records `stateInfo.savedAt`).
 * Times are ISO 8601 UTC with milliseconds.
 */
export class Profiles {
	constructor(
		private readonly profiles: Collection<ProfileDoc>,
		private readonly groups: Collection<GroupDoc>,
		private readonly box: SecretBox,
		private readonly clock: () => number = Date.now
	) {}

	async init(): Promise<void> {
		// shared/seeds/000 §6.1.
		await this.profiles.ensureIndex("lastUsedAt");
		await this.profiles.ensureIndex("groupId");
		await this.groups.ensureIndex("name", { unique: true });
	}

	async create(input: ProfileInput): Promise<ProfileDoc> {
		if (input.groupId) await this.group(input.groupId, 422);
		const now = this.now();
		const state: ProfileState = { cookies: [], origins: input.localStorage ?? [] };
		const doc: ProfileDoc = {
			_id: newId(),
			name: input.name,
			groupId: input.groupId ?? null,
			notes: input.notes ?? "",
			tags: input.tags ?? [],
			fingerprint: input.fingerprint ?? {},
			proxy: input.proxy ? this.sealProxy(input.proxy) : null,
			state: this.box.seal(state),
			stateInfo: stateInfo(state, now),
			persistIndexedDB: input.persistIndexedDB ?? false,
			status: input.status ?? "idle",
			createdAt: now,
			updatedAt: now,
			lastUsedAt: null
		};
		return this.profiles.insert(doc);
	}

	async get(id: string): Promise<ProfileDoc> {
		const doc = await this.profiles.findById(id);
		if (!doc) throw new ProfileNotFoundError(id);
		return doc;
	}

	async list(query: ListQuery): Promise<{ items: ProfileDoc[]; total: number }> {
		const filter: Query = {};
		if (query.groupId) filter.groupId = query.groupId;
		if (query.tag) filter.tags = query.tag;
		if (query.status) filter.status = query.status;
		const sortKey = query.sort ?? "-lastUsedAt";
		const field = sortKey.replace(/^-/, "");
		const sort: Record<string, 1 | -1> = { [field]: sortKey.startsWith("-") ? -1 : 1 };
		if (field !== "createdAt") sort.createdAt = -1;
		const [items, total] = await Promise.all([
			this.profiles.find(filter, { sort, limit: query.limit ?? 50, skip: query.offset ?? 0, projection: { state: 0 } }),
			this.profiles.count(filter)
		]);
		return { items, total };
	}

	/** An edit: `updatedAt` only (shared/seeds/000 `profile.update`). Answers the profile and the fields changed. */
	async update(id: string, changes: Partial<ProfileInput>): Promise<{ doc: ProfileDoc; changed: string[] }> {
		const current = await this.get(id);
		if (changes.groupId) await this.group(changes.groupId, 422);
		if (changes.status !== undefined) this.refuseWhileRunning(current);
		const set: Record<string, unknown> = {};
		for (const key of ["name", "groupId", "notes", "tags", "fingerprint", "persistIndexedDB", "status"] as const)
			if (changes[key] !== undefined) set[key] = changes[key];
		if (changes.proxy !== undefined) set.proxy = changes.proxy ? this.sealProxy(changes.proxy) : null;
		if (changes.localStorage !== undefined) {
			this.refuseWhileRunning(current);
			const state = { ...this.openState(current), origins: changes.localStorage };
			Object.assign(set, this.stateFields(state));
		}
		const changed = Object.keys(set).filter(k => k !== "stateInfo").map(k => (k === "state" ? "localStorage" : k));
		if (changed.length === 0) return { doc: current, changed };
		set.updatedAt = this.now();
		const doc = await this.profiles.updateOne({ _id: id }, { $set: set });
		if (!doc) throw new ProfileNotFoundError(id);
		return { doc, changed };
	}

	async remove(id: string): Promise<void> {
		const current = await this.get(id);
		this.refuseWhileRunning(current);
		await this.profiles.deleteMany({ _id: id, status: { $ne: "running" } });
	}

	/**
	 * A session start (shared/seeds/000 §3.2): `lastUsedAt = updatedAt = now`, status running. Every start passes
	 * here, whatever its source (§3.3). Answers what the browser node needs, still sealed.
	 */
	async markStarted(id: string): Promise<StartMaterial> {
		const current = await this.get(id);
		if (current.status === "disabled") throw new ProfileDisabledError(id);
		const now = this.now();
		const doc = await this.profiles.updateOne({ _id: id }, { $set: { lastUsedAt: now, updatedAt: now, status: "running" } });
		if (!doc) throw new ProfileNotFoundError(id);
		return { profile: publicProfile(doc), state: doc.state, proxy: doc.proxy };
	}

	/**
	 * Saves a session's state. A stop (`final`) sets `updatedAt` and ends the running status; a periodic snapshot
	 * changes neither timestamp. The state arrives sealed from the browser node.
	 */
	async saveState(id: string, sealed: Sealed, info: { cookies: number; origins: number }, final: boolean): Promise<ProfileDoc> {
		const now = this.now();
		const set: Record<string, unknown> = { state: sealed, stateInfo: { ...info, savedAt: now } };
		if (final) Object.assign(set, { updatedAt: now, status: "idle" });
		const doc = await this.profiles.updateOne({ _id: id }, { $set: set });
		if (!doc) throw new ProfileNotFoundError(id);
		return doc;
	}

	/** A session ended without a state to save (its node died): the last snapshot stands; `updatedAt` as for a stop. */
	async markStopped(id: string): Promise<ProfileDoc | null> {
		return this.profiles.updateOne({ _id: id, status: "running" }, { $set: { updatedAt: this.now(), status: "idle" } });
	}

	/** Adds (same name, domain and path: replaced) or replaces the profile's cookies from an uploaded file. */
	async importCookies(id: string, text: string, mode: "merge" | "replace"): Promise<{ doc: ProfileDoc; format: CookieFormat; imported: number }> {
		const current = await this.get(id);
		this.refuseWhileRunning(current);
		const { format, cookies } = parseCookies(text);
		const state = this.openState(current);
		const identity = (c: Cookie) => `${c.name}\u0000${c.domain}\u0000${c.path}`;
		const merged = new Map(mode === "merge" ? state.cookies.map(c => [identity(c), c]) : []);
		for (const cookie of cookies) merged.set(identity(cookie), cookie);
		const next = { ...state, cookies: [...merged.values()] };
		const doc = await this.profiles.updateOne({ _id: id }, { $set: { ...this.stateFields(next), updatedAt: this.now() } });
		if (!doc) throw new ProfileNotFoundError(id);
		return { doc, format, imported: cookies.length };
	}

	async exportCookies(id: string, format: CookieFormat): Promise<{ content: string; count: number }> {
		const state = this.openState(await this.get(id));
		return { content: formatCookies(state.cookies, format), count: state.cookies.length };
	}

	// ── groups ──────────────────────────────────────────────────────────────────────────────────────────────

	async createGroup(name: string): Promise<GroupDoc> {
		const now = this.now();
		return this.groups.insert({ _id: newId(), name, createdAt: now, updatedAt: now });
	}

	/** Groups with their derived `profileCount` (counted on the `groupId` index, never stored). */
	async listGroups(): Promise<(GroupDoc & { profileCount: number })[]> {
		const groups = await this.groups.find({}, { sort: { name: 1 } });
		return Promise.all(groups.map(async g => ({ ...g, profileCount: await this.profiles.count({ groupId: g._id }) })));
	}

	async removeGroup(id: string): Promise<void> {
		await this.group(id, 404);
		const profileCount = await this.profiles.count({ groupId: id });
		if (profileCount > 0) throw new GroupNotEmptyError(id, profileCount);
		await this.groups.deleteMany({ _id: id });
	}

	private async group(id: string, code: 404 | 422): Promise<GroupDoc> {
		const group = await this.groups.findById(id);
		if (!group) throw new GroupNotFoundError(id, code);
		return group;
	}

	// ── sealing ─────────────────────────────────────────────────────────────────────────────────────────────

	private openState(doc: ProfileDoc): ProfileState {
		return doc.state ? this.box.open<ProfileState>(doc.state) : EMPTY_STATE;
	}

	private stateFields(state: ProfileState) {
		return { state: this.box.seal(state), stateInfo: stateInfo(state, this.now()) };
	}

	private sealProxy(proxy: ProxyConfig): ProfileDoc["proxy"] {
		const { server, username, password } = proxy;
		return { server, credentials: username || password ? this.box.seal({ username: username ?? "", password: password ?? "" }) : null };
	}

	/** The stored state is the session's to write while it runs: an edit now would be lost at its stop. */
	private refuseWhileRunning(doc: ProfileDoc): void {
		if (doc.status === "running") throw new ProfileAlreadyActiveError(doc._id, { sessionId: "", startedAt: doc.lastUsedAt ?? undefined });
	}

	private now(): string {
		return new Date(this.clock()).toISOString();
	}
}
