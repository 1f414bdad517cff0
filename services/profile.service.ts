import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../mixins/db.mixin";
import { FINGERPRINT_SCHEMA } from "../src/browser/fingerprint";
import { GroupNameTakenError } from "../src/errors";
import { EVENTS, type ProfileUpdateEvent } from "../src/events";
import { type ProfileDoc, type ProfileInput, Profiles, publicProfile } from "../src/profile/profiles";
import { loadSecretKey, SecretBox } from "../src/profile/secret-box";
import { configOf } from "../src/runtime";
import { DuplicateKeyError } from "../src/store";

const PROXY_SCHEMA = {
	type: "object",
	optional: true,
	nullable: true,
	strict: "remove",
	props: {
		server: { type: "string", pattern: /^http:\/\/[^\s/@]+(:\d{1,5})?\/?$/, messages: { stringPattern: "proxy.server must be http://host:port" } },
		username: { type: "string", optional: true, max: 256 },
		password: { type: "string", optional: true, max: 1024 }
	}
} as const;

const LOCAL_STORAGE_SCHEMA = {
	type: "array",
	optional: true,
	max: 200,
	items: {
		type: "object",
		strict: "remove",
		props: {
			origin: { type: "string", pattern: /^https?:\/\/[^\s/]+$/, messages: { stringPattern: "origin must be scheme://host[:port]" } },
			localStorage: {
				type: "array",
				max: 10000,
				items: { type: "object", strict: "remove", props: { name: { type: "string" }, value: { type: "string" } } }
			}
		}
	}
} as const;

/**
 * A profile's fingerprint is its identity from one session to the next: it is stored as given, and `randomize` (a new
 * identity per session, for anonymous tasks) is refused.
 */
const PROFILE_FINGERPRINT_SCHEMA = {
	...FINGERPRINT_SCHEMA,
	props: { ...FINGERPRINT_SCHEMA.props, randomize: { type: "forbidden", messages: { forbidden: "a profile keeps one fingerprint: randomize is for tasks" } } }
};

/** Fields a profile is created or edited with. */
const PROFILE_FIELDS = {
	name: { type: "string", min: 1, max: 200, trim: true },
	groupId: { type: "string", optional: true, nullable: true, min: 1 },
	notes: { type: "string", optional: true, max: 10000 },
	tags: { type: "array", optional: true, max: 50, items: { type: "string", min: 1, max: 64 } },
	fingerprint: PROFILE_FINGERPRINT_SCHEMA,
	proxy: PROXY_SCHEMA,
	localStorage: LOCAL_STORAGE_SCHEMA,
	persistIndexedDB: { type: "boolean", optional: true },
	status: { type: "enum", optional: true, values: ["idle", "disabled"] }
};

const optional = <T extends Record<string, object>>(fields: T) =>
	Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { ...v, optional: true }])) as T;

/**
 * Browser profiles (fingerprint, proxy, cookies, localStorage) and their groups. Cookies, localStorage and proxy
 * credentials are sealed with AES-256-GCM before they reach the store. Edits follow shared/seeds/000 `profile.update`:
 * `updatedAt` only. The `markStarted` / `saveState` / `markStopped` actions are session-manager's.
 */
const ProfileService: ServiceSchema = {
	name: "profile",
	mixins: [DbMixin("profiles", "groups")],

	actions: {
		list: {
			params: {
				groupId: { type: "string", optional: true },
				tag: { type: "string", optional: true },
				status: { type: "enum", optional: true, values: ["idle", "running", "disabled"] },
				sort: {
					type: "enum",
					optional: true,
					values: ["lastUsedAt", "-lastUsedAt", "createdAt", "-createdAt", "updatedAt", "-updatedAt", "name", "-name"]
				},
				limit: { type: "number", optional: true, convert: true, integer: true, min: 1, max: 500 },
				offset: { type: "number", optional: true, convert: true, integer: true, min: 0 }
			},
			async handler(this: any, ctx: Context<any>) {
				const { items, total } = await this.profiles.list(ctx.params);
				return { items: items.map(publicProfile), total };
			}
		},
		get: {
			params: { id: "string" },
			async handler(this: any, ctx: Context<{ id: string }>) {
				return publicProfile(await this.profiles.get(ctx.params.id));
			}
		},
		create: {
			// Strict, as every body: a misspelt field is refused, not dropped.
			params: { $$strict: true, ...PROFILE_FIELDS },
			async handler(this: any, ctx: Context<ProfileInput, { $statusCode?: number; $location?: string }>) {
				const doc = await this.profiles.create(ctx.params);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/profiles/${doc._id}`;
				return publicProfile(doc);
			}
		},
		update: {
			params: { $$strict: true, id: "string", ...optional(PROFILE_FIELDS) },
			async handler(this: any, ctx: Context<Partial<ProfileInput> & { id: string }>) {
				const { id, ...changes } = ctx.params;
				const { doc, changed } = await this.profiles.update(id, changes);
				if (changed.length) this.emitUpdate(ctx, doc, changed);
				return publicProfile(doc);
			}
		},
		remove: {
			params: { id: "string" },
			async handler(this: any, ctx: Context<{ id: string }>) {
				await this.profiles.remove(ctx.params.id);
				return { id: ctx.params.id, deleted: true };
			}
		},
		importCookies: {
			params: {
				id: "string",
				content: { type: "string", min: 1, max: 5 * 1024 * 1024 },
				mode: { type: "enum", optional: true, values: ["merge", "replace"] }
			},
			async handler(this: any, ctx: Context<{ id: string; content: string; mode?: "merge" | "replace" }>) {
				const { doc, format, imported } = await this.profiles.importCookies(ctx.params.id, ctx.params.content, ctx.params.mode ?? "merge");
				this.emitUpdate(ctx, doc, ["cookies"]);
				return { id: doc._id, format, imported, cookies: doc.stateInfo.cookies };
			}
		},
		exportCookies: {
			params: { id: "string", format: { type: "enum", optional: true, values: ["json", "extension", "netscape"] } },
			async handler(this: any, ctx: Context<{ id: string; format?: "json" | "extension" | "netscape" }>) {
				const format = ctx.params.format ?? "json";
				return { id: ctx.params.id, format, ...(await this.profiles.exportCookies(ctx.params.id, format)) };
			}
		},

		groups(this: any) {
			return this.profiles.listGroups().then((groups: any[]) => groups.map(({ _id, ...g }) => ({ id: _id, ...g })));
		},
		createGroup: {
			params: { name: { type: "string", min: 1, max: 200, trim: true } },
			async handler(this: any, ctx: Context<{ name: string }, { $statusCode?: number; $location?: string }>) {
				try {
					const { _id, ...group } = await this.profiles.createGroup(ctx.params.name);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/api/groups?id=${_id}`;
					return { id: _id, ...group, profileCount: 0 };
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw new GroupNameTakenError(ctx.params.name);
					throw err;
				}
			}
		},
		removeGroup: {
			params: { id: "string" },
			async handler(this: any, ctx: Context<{ id: string }>) {
				await this.profiles.removeGroup(ctx.params.id);
				return { id: ctx.params.id, deleted: true };
			}
		},

		// ── session-manager's ────────────────────────────────────────────────────────────────────────────────
		markStarted: {
			visibility: "public",
			params: { id: "string" },
			handler(this: any, ctx: Context<{ id: string }>) {
				return this.profiles.markStarted(ctx.params.id);
			}
		},
		saveState: {
			visibility: "public",
			params: { id: "string", state: "object", info: "object", final: "boolean" },
			async handler(this: any, ctx: Context<{ id: string; state: any; info: any; final: boolean }>) {
				const doc: ProfileDoc = await this.profiles.saveState(ctx.params.id, ctx.params.state, ctx.params.info, ctx.params.final);
				return doc.updatedAt;
			}
		},
		markStopped: {
			visibility: "public",
			params: { id: "string" },
			async handler(this: any, ctx: Context<{ id: string }>) {
				const doc: ProfileDoc | null = await this.profiles.markStopped(ctx.params.id);
				return doc?.updatedAt ?? null;
			}
		}
	},

	methods: {
		emitUpdate(this: any, ctx: Context, doc: ProfileDoc, changes: string[]) {
			const event: ProfileUpdateEvent = { event: "profile.update", profileId: doc._id, timestamp: doc.updatedAt, changes };
			ctx.emit(EVENTS.PROFILE_UPDATE, event);
		}
	},

	created(this: any) {
		const config = configOf(this.broker);
		const box = new SecretBox(loadSecretKey({ secret: config.nightshiftSecret, dataDir: config.dataDir }));
		this.profiles = new Profiles(this.collections.profiles, this.collections.groups, box);
	},

	async started(this: any) {
		await this.profiles.init();
	}
};

export default ProfileService;
