import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { SseHub } from "../src/api/sse-hub";
import { ARTIFACT_ID, type ArtifactMeta, createArtifactStore } from "../src/artifacts";
import { browserPoolNodes, clusterPool } from "../src/browser/cluster-pool";
import { isLoopback } from "../src/config";
import { ArtifactNotFoundError, ERROR_TYPES, InvalidBodyError, UnauthorizedError, UnknownEventError, UnknownTaskTypeError } from "../src/errors";
import { EVENTS, STREAMED_EVENTS } from "../src/events";
import { configOf } from "../src/runtime";

type Req = IncomingMessage & { $params: Record<string, string>; $ctx: Context };

function isTerminal(event: string, payload: { willRetry?: boolean }): boolean {
	return (
		event === EVENTS.TASK_COMPLETED ||
		event === EVENTS.TASK_CANCELLED ||
		(event === EVENTS.TASK_FAILED && payload.willRetry === false)
	);
}

/** Task and profile events go to this gateway's SSE clients. */
function publishToSse(this: any, ctx: Context) {
	this.hub.publish(ctx.eventName, ctx.params);
}

/** Maps body-parser and gateway errors to the one error shape: `{ name, message, code, type, data }`. */
function normalizeError(err: any): { name: string; message: string; code: number; type: string; data?: unknown } {
	if (err?.type === "entity.too.large" || err?.status === 413)
		return { name: "PayloadTooLargeError", message: "Request body is too large", code: 413, type: ERROR_TYPES.PAYLOAD_TOO_LARGE, data: { limit: err.limit } };
	if (err?.type === "entity.parse.failed")
		return { name: "InvalidJsonError", message: "Request body is not valid JSON", code: 400, type: ERROR_TYPES.INVALID_JSON };
	// moleculer-web's answer for a route whose service no node runs (yet): a node starting, or a gateway alone.
	if (err?.name === "ServiceUnavailableError" && !err.type)
		return {
			name: "ServiceUnavailableError",
			message: "No node runs the service behind this route yet (it is starting, or not deployed): retry shortly",
			code: 503,
			type: ERROR_TYPES.SERVICE_UNAVAILABLE
		};
	const code = Number.isInteger(err?.code) && err.code >= 400 && err.code < 600 ? err.code : 500;
	return {
		name: err?.name ?? "Error",
		message: code === 500 ? "Internal server error" : messageOf(err),
		code,
		type: typeof err?.type === "string" && /^[A-Z0-9_]+$/.test(err.type) ? err.type : code === 500 ? ERROR_TYPES.INTERNAL_ERROR : ERROR_TYPES.REQUEST_ERROR,
		data: code === 500 ? undefined : err?.data
	};
}

/** Headers of an artifact answer: its type and size, cached for good (artifacts never change once written). */
function writeArtifactHead(res: ServerResponse, meta: ArtifactMeta): void {
	res.setHeader("Content-Type", meta.contentType);
	res.setHeader("Content-Length", meta.size);
	res.setHeader("Cache-Control", "private, max-age=31536000, immutable");
	res.writeHead(200);
}

/**
 * Every route with a body takes an object of named fields. The JSON parser also accepts an array or a bare value,
 * which the gateway would merge into the parameters as keys `0`, `1`, … and the action would then answer for the
 * fields it misses ("The 'type' field is required"), not for what was sent.
 */
function checkBodyShape(req: IncomingMessage & { body?: unknown; originalUrl?: string }): void {
	const body = req.body;
	if (body === undefined || (typeof body === "object" && body !== null && !Array.isArray(body))) return;
	const received = Array.isArray(body) ? "an array" : body === null ? "null" : `a ${typeof body}`;
	const batchHint = Array.isArray(body) && /^\/api\/tasks\/?(\?|$)/.test(req.originalUrl ?? req.url ?? "")
		? 'to submit several tasks, POST {"tasks": [...]} to /api/tasks/batch'
		: undefined;
	throw new InvalidBodyError(received, batchHint);
}

/** A parameter check says only "Parameters validation error!"; what is wrong is in its data, so the message says it. */
function messageOf(err: any): string {
	const problems = err?.type === "VALIDATION_ERROR" && Array.isArray(err.data) ? err.data.map((d: any) => d?.message).filter(Boolean) : [];
	return problems.length > 0 ? `Invalid parameters: ${problems.join(" ")}` : String(err?.message ?? "error");
}

/** The HTTP gateway: REST routes, server-sent events, health. Thin: every route is a service call. */
const ApiService = {
	name: "api",
	mixins: [ApiGateway],

	settings: {
		// Filled from the config in `merged`.
		port: 3000,
		ip: "127.0.0.1",
		log4XXResponses: false,
		logRequest: "debug",
		logResponse: "debug",
		routes: [] as any[],
		onError(this: any, req: IncomingMessage, res: ServerResponse, err: any) {
			const body = normalizeError(err);
			if (body.code === 500) this.logger.error("request failed", { url: req.url, err });
			// Every 503 here is a service, store or browser capacity that comes back: tell clients when to try again.
			if (body.code === 503) res.setHeader("Retry-After", "1");
			res.setHeader("Content-Type", "application/json; charset=utf-8");
			res.writeHead(body.code);
			res.end(JSON.stringify(body));
		}
	},

	actions: {
		/**
		 * `ok` only once every service of this node has started, and no longer once it stops: a load balancer or an
		 * orchestrator that waits for a 200 here never sends work to a node still loading its store or draining.
		 */
		health(this: any, ctx: Context<unknown, { $statusCode?: number }>) {
			const status = this.broker.started ? "ok" : this.hasStarted ? "stopping" : "starting";
			if (status !== "ok") ctx.meta.$statusCode = 503;
			return { status, nodeId: this.broker.nodeID, uptimeSecs: Math.round(process.uptime()) };
		},
		/** shared/seeds/001 §7.2. */
		async backgroundTasksHealth(this: any, ctx: Context) {
			const [scheduler, workers] = await Promise.all([
				ctx.call<any>("scheduler.health").catch(() => null),
				ctx.call<any[]>("scheduler.workers").catch(() => [] as any[])
			]);
			const capacity = workers.reduce((n: number, w: any) => n + (w.concurrency ?? 0), 0);
			const busy = workers.reduce((n: number, w: any) => n + w.currentTasks.length, 0);
			// Nodes whose Chromium does not start: their browser tasks fail until it does.
			const launchErrors = workers.filter(w => w.browserSlots?.launchError).map(w => ({ nodeId: w.nodeId, error: w.browserSlots.launchError }));
			const transit = this.broker.transit;
			return {
				status: scheduler && scheduler.store.connected && launchErrors.length === 0 ? "ok" : "degraded",
				queue_health: scheduler?.queue ?? null,
				browser_pool_status: {
					workers: workers.length,
					capacity,
					busy,
					free: Math.max(0, capacity - busy),
					...(launchErrors.length ? { launchErrors } : {})
				},
				active_tasks: scheduler?.activeTasks ?? null,
				failed_tasks_last_hour: scheduler?.failedLastHour ?? null,
				transporter_connection: transit
					? { connected: !!transit.connected, type: this.broker.transit.tx.constructor.name }
					: { connected: true, type: "none (embedded)" },
				store_connection: scheduler?.store ?? { connected: false }
			};
		},

		/** `GET /api/pool`: every node's browsers, contexts, slots and memory. */
		pool(this: any) {
			return clusterPool(this.broker);
		},

		/** Seed route `POST /api/v1/web-pages/parse` (shared/seeds/001 §1.3): a `page.parse` task in the seed's shape. */
		parseWebPage: {
			params: { $$strict: true, url: { type: "string", min: 1 }, options: { type: "object", optional: true } },
			async handler(this: any, ctx: Context<{ url: string; options?: object }, { $statusCode?: number }>) {
				const payload: Record<string, unknown> = { url: ctx.params.url };
				if (ctx.params.options) payload.options = ctx.params.options;
				const answer = await ctx.call<any, object>("scheduler.submit", { type: "page.parse", payload });
				ctx.meta.$statusCode = 202;
				return { task_id: answer.id, status: answer.status, estimated_duration_seconds: Math.ceil(answer.estimatedDurationMs / 1000) };
			}
		}
	},

	// The groups are replaced in `merged` by one of this node's own.
	events: {
		"task.*": { group: "api-sse", handler: publishToSse },
		"profile.*": { group: "api-sse", handler: publishToSse },
		// Every local service has started: `/health` turns `ok` (and says `stopping`, not `starting`, once it stops).
		"$broker.started"(this: any) {
			this.hasStarted = true;
		}
	},

	methods: {
		authenticate(this: any, _ctx: Context, _route: unknown, req: IncomingMessage & { $params?: Record<string, unknown> }) {
			// A key passed in the query is the gateway's, not a parameter of the action (whose bodies are strict).
			if (req.$params) delete req.$params.apiKey;
			const keys: string[] = configOf(this.broker).apiKeys;
			if (keys.length === 0) return null;
			// EventSource cannot send headers: an `apiKey` query parameter is accepted too.
			const header =
				req.headers["x-api-key"] ??
				/^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ??
				new URL(req.url ?? "/", "http://x").searchParams.get("apiKey") ??
				undefined;
			if (typeof header === "string" && keys.includes(header)) return { apiKey: true };
			throw new UnauthorizedError();
		},

		/** `GET /api/tasks/:id/events`: the task now, then its events until it ends. */
		async streamTask(this: any, req: Req, res: ServerResponse) {
			const id = req.$params.id;
			let task: any;
			try {
				task = await req.$ctx.call("scheduler.get", { id });
			} catch (err) {
				return this.settings.onError.call(this, req, res, err);
			}
			const ended = ["completed", "failed", "cancelled"].includes(task.status);
			this.hub.open(
				{
					res,
					accepts: (_event: string, payload: any) => payload.taskId === id,
					endsWith: isTerminal
				},
				[{ event: "task.snapshot", data: task }]
			);
			if (ended) res.end();
		},

		/** `GET /api/artifacts/:id`: a stored artifact (a screenshot) with its content type. */
		async serveArtifact(this: any, req: Req, res: ServerResponse) {
			const id = req.$params.id;
			try {
				const found = await this.artifacts.get(id);
				if (found) {
					writeArtifactHead(res, found.meta);
					res.end(found.data);
					return;
				}
				const remote = await this.remoteArtifact(id);
				if (!remote) throw new ArtifactNotFoundError(id);
				writeArtifactHead(res, remote.meta);
				remote.data.on("error", (err: Error) => {
					this.logger.warn(`artifact ${id} broke off while streaming`, err.message);
					res.destroy(err);
				});
				remote.data.pipe(res);
			} catch (err) {
				this.settings.onError.call(this, req, res, err);
			}
		},

		/**
		 * An artifact another node wrote and keeps (a cluster without MongoDB): asked of every other node running
		 * `browser-pool`, one after the other. Null when none has it, or the node that wrote it is gone.
		 */
		async remoteArtifact(this: any, id: string): Promise<{ meta: ArtifactMeta; data: Readable } | null> {
			if (!ARTIFACT_ID.test(id)) return null;
			const nodes = browserPoolNodes(this.broker).filter(nodeID => nodeID !== this.broker.nodeID);
			for (const nodeID of nodes) {
				const call = this.broker.call("browser-pool.artifact", { id }, { nodeID, retries: 0 });
				try {
					const data: Readable = await call;
					return { meta: call.ctx.meta.artifact, data };
				} catch (err: any) {
					if (err?.type !== ERROR_TYPES.ARTIFACT_NOT_FOUND) this.logger.warn(`node ${nodeID} could not answer for artifact ${id}`, err?.message);
				}
			}
			return null;
		},

		/** `GET /api/profiles/:id/cookies?format=json|extension|netscape`: the profile's cookies as a file. */
		async exportCookies(this: any, req: Req, res: ServerResponse) {
			try {
				const format = new URL(req.url ?? "/", "http://x").searchParams.get("format") ?? undefined;
				const out: any = await req.$ctx.call("profile.exportCookies", { id: req.$params.id, format });
				const netscape = out.format === "netscape";
				res.setHeader("Content-Type", netscape ? "text/plain; charset=utf-8" : "application/json; charset=utf-8");
				res.setHeader("Content-Disposition", `attachment; filename="cookies-${out.id}.${netscape ? "txt" : "json"}"`);
				res.writeHead(200);
				res.end(out.content);
			} catch (err) {
				this.settings.onError.call(this, req, res, err);
			}
		},

		/**
		 * `GET /api/events`: every task and profile event; `type` keeps the task events of one task type, `event` only
		 * the named events (comma-separated, e.g. `task.completed,task.failed`: a client counting outcomes need not
		 * read three events per task).
		 */
		async streamAll(this: any, req: Req, res: ServerResponse) {
			const type: string | undefined = req.$params.type || undefined;
			const names = String(req.$params.event ?? "").split(",").map(n => n.trim()).filter(Boolean);
			try {
				const unknown = names.filter(n => !STREAMED_EVENTS.includes(n));
				if (unknown.length > 0) throw new UnknownEventError(unknown, STREAMED_EVENTS);
				// A misspelt type would stream nothing, forever.
				if (type) {
					const known = ((await req.$ctx.call("scheduler.types")) as { name: string }[]).map(t => t.name);
					if (!known.includes(type)) throw new UnknownTaskTypeError(type, known);
				}
			} catch (err) {
				return this.settings.onError.call(this, req, res, err);
			}
			const wanted = names.length > 0 ? new Set(names) : undefined;
			// With a type, only that type's task events: profile events have none.
			this.hub.open({ res, accepts: (e: string, p: any) => (!wanted || wanted.has(e)) && (!type || p.taskType === type) });
		}
	},

	/** Settings that come from the config are set here, before moleculer-web reads them in its `created`. */
	merged(this: any, schema: ServiceSchema<any>) {
		const config = configOf(this.broker);
		if (!isLoopback(config.host) && config.apiKeys.length === 0)
			throw new Error("API_KEYS must be set when the gateway listens on a non-loopback address");
		// Task events are emitted (one delivery per service group); every gateway instance needs all of them for
		// its SSE clients, so each node subscribes in a group of its own.
		for (const pattern of ["task.*", "profile.*"])
			schema.events![pattern] = { ...(schema.events![pattern] as object), group: `api-sse-${this.broker.nodeID}` } as any;
		const bodyParsers = { json: { limit: config.bodyLimit, strict: false }, urlencoded: false };
		schema.settings = {
			...schema.settings,
			port: config.port,
			ip: config.host,
			// The dashboard: one static page over the REST and SSE routes, served where no route matched.
			assets: { folder: path.resolve(__dirname, "../public") },
			routes: [
				{
					path: "/api",
					authentication: true,
					mappingPolicy: "restrict",
					mergeParams: true,
					bodyParsers,
					onBeforeCall(_ctx: Context, _route: unknown, req: IncomingMessage) {
						checkBodyShape(req);
					},
					aliases: {
						"POST /tasks": "scheduler.submit",
						"POST /tasks/batch": "scheduler.submitMany",
						"GET /tasks": "scheduler.list",
						"GET /tasks/:id": "scheduler.get",
						"POST /tasks/:id/cancel": "scheduler.cancel",
						"POST /tasks/:id/retry": "scheduler.retry",
						"GET /tasks/:id/events"(this: any, req: Req, res: ServerResponse) {
							return this.streamTask(req, res);
						},
						"GET /events"(this: any, req: Req, res: ServerResponse) {
							return this.streamAll(req, res);
						},
						"GET /dead-letters": "scheduler.deadLetters",
						"GET /task-types": "scheduler.types",
						"GET /workers": "scheduler.workers",
						"GET /pool": "api.pool",
						"GET /artifacts/:id"(this: any, req: Req, res: ServerResponse) {
							return this.serveArtifact(req, res);
						},
						"POST /v1/web-pages/parse": "api.parseWebPage",
						"GET /profiles": "profile.list",
						"POST /profiles": "profile.create",
						"GET /profiles/:id": "profile.get",
						"PATCH /profiles/:id": "profile.update",
						"DELETE /profiles/:id": "profile.remove",
						"POST /profiles/:id/cookies": "profile.importCookies",
						"GET /profiles/:id/cookies"(this: any, req: Req, res: ServerResponse) {
							return this.exportCookies(req, res);
						},
						"GET /groups": "profile.groups",
						"POST /groups": "profile.createGroup",
						"DELETE /groups/:id": "profile.removeGroup",
						// shared/seeds/000 §2.1 routes.
						"POST /profile/start/:id": "session-manager.start",
						"POST /profile/stop/:id": "session-manager.stop",
						"GET /sessions": "session-manager.list",
						"GET /sessions/dead-letters": "session-manager.deadLetters",
						"GET /sessions/:sessionId": "session-manager.get",
						"POST /sessions/:sessionId/actions": "session-manager.actions"
					}
				},
				{
					path: "/health",
					mappingPolicy: "restrict",
					aliases: {
						"GET /": "api.health",
						"GET /background-tasks": "api.backgroundTasksHealth"
					}
				}
			]
		};
	},

	created(this: any) {
		this.hub = new SseHub();
		this.artifacts = createArtifactStore(configOf(this.broker));
	},

	async stopped(this: any) {
		this.hub?.closeAll();
		await this.artifacts?.close();
	}
} as ServiceSchema<any>;

export default ApiService;
