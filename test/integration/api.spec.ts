import http from "node:http";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { gatewayUrl, startBroker, waitFor } from "../helpers/broker";

const FIXTURES = path.resolve(__dirname, "../fixtures/tasks");

async function json(res: Response) {
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Reads a server-sent event stream until `until` says stop or the server ends it. */
async function readEvents(url: string, onOpen?: () => Promise<unknown>, until?: (events: { event: string; data: any }[]) => boolean) {
	const controller = new AbortController();
	const res = await fetch(url, { signal: controller.signal });
	expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
	const events: { event: string; data: any }[] = [];
	const reader = res.body!.getReader();
	const decoder = new TextDecoder();
	let buffer = "";
	const opened = onOpen?.();
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		buffer += decoder.decode(value, { stream: true });
		let cut;
		while ((cut = buffer.indexOf("\n\n")) >= 0) {
			const block = buffer.slice(0, cut);
			buffer = buffer.slice(cut + 2);
			const event = /^event: (.*)$/m.exec(block)?.[1];
			const data = /^data: (.*)$/m.exec(block)?.[1];
			if (event && data) events.push({ event, data: JSON.parse(data) });
		}
		if (until?.(events)) {
			controller.abort();
			break;
		}
	}
	await opened;
	return events;
}

describe("HTTP gateway", () => {
	let broker: ServiceBroker;
	let base: string;
	const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
		fetch(base + p, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

	beforeAll(async () => {
		broker = await startBroker({ taskDirs: [FIXTURES] });
		base = gatewayUrl(broker);
	});
	afterAll(() => broker.stop());

	it("submits with 202 and serves the task, the list, the types and the workers", async () => {
		const submitted = await json(await post("/api/tasks", { type: "noop", payload: { echo: 1 }, priority: 7, metadata: { who: "test" } }));
		expect(submitted.status).toBe(202);
		expect(submitted.body).toEqual({ id: expect.any(String), status: "queued", estimatedDurationMs: 1 });
		const id = submitted.body.id;
		const task = await waitFor(async () => {
			const r = await json(await fetch(`${base}/api/tasks/${id}`));
			return r.body.status === "completed" ? r.body : null;
		});
		expect(task).toMatchObject({ id, priority: 7, metadata: { who: "test" }, result: { echo: 1 } });

		const list = await json(await fetch(`${base}/api/tasks?status=completed&type=noop&limit=5&offset=0`));
		expect(list.status).toBe(200);
		expect(list.body.items.map((t: any) => t.id)).toContain(id);
		expect(list.body.items[0].log).toBeUndefined();
		expect(list.body.items.find((t: any) => t.id === id)).toMatchObject({ result: { echo: 1 } });
		// Without results (the dashboard's listing): the key is left out, not null.
		const light = await json(await fetch(`${base}/api/tasks?status=completed&type=noop&limit=5&result=false`));
		expect(light.body.items.find((t: any) => t.id === id)).toMatchObject({ id, status: "completed", priority: 7 });
		expect(light.body.items.every((t: any) => !("result" in t))).toBe(true);
		expect(light.body.total).toBe(list.body.total);

		const types = await json(await fetch(`${base}/api/task-types`));
		expect(types.body.map((t: any) => t.name)).toEqual(expect.arrayContaining(["noop", "http.check", "test.behave"]));

		const workers = await json(await fetch(`${base}/api/workers`));
		expect(workers.body).toEqual([expect.objectContaining({ nodeId: broker.nodeID, concurrency: 8, processed: expect.any(Number) })]);
	});

	it("submits a batch in one request, and refuses a batch with one bad task, naming it", async () => {
		const ok = await json(await post("/api/tasks/batch", { tasks: [{ type: "noop", payload: { echo: "b1" } }, { type: "noop", priority: 9 }] }));
		expect(ok.status).toBe(202);
		expect(ok.body).toEqual([
			{ id: expect.any(String), status: "queued", estimatedDurationMs: 1 },
			{ id: expect.any(String), status: "queued", estimatedDurationMs: 1 }
		]);
		await waitFor(async () => (await json(await fetch(`${base}/api/tasks/${ok.body[1].id}`))).body.status === "completed");
		const before = (await json(await fetch(`${base}/api/tasks?limit=1`))).body.total;
		const bad = await json(await post("/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "nope" }] }));
		expect(bad).toMatchObject({ status: 422, body: { type: "UNKNOWN_TASK_TYPE", data: { index: 1 } } });
		expect((await json(await fetch(`${base}/api/tasks?limit=1`))).body.total).toBe(before);
		expect((await json(await post("/api/tasks/batch", { tasks: [] }))).status).toBe(422);
		// A batch's tasks pass the checks of a single submit, and the error names the field of the bad one.
		const badField = await json(await post("/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop", priority: 11 }] }));
		expect(badField).toMatchObject({ status: 422, body: { type: "VALIDATION_ERROR", data: [{ field: "tasks[1].priority" }] } });
		expect((await json(await fetch(`${base}/api/tasks?limit=1`))).body.total).toBe(before);
	});

	it("reports health and background-task health", async () => {
		expect(await json(await fetch(`${base}/health`))).toMatchObject({ status: 200, body: { status: "ok" } });
		const bg = await json(await fetch(`${base}/health/background-tasks`));
		expect(bg.body).toMatchObject({
			status: "ok",
			queue_health: expect.objectContaining({ queued: expect.any(Number) }),
			browser_pool_status: expect.objectContaining({ workers: 1, capacity: 8 }),
			active_tasks: expect.any(Number),
			failed_tasks_last_hour: expect.any(Number),
			store_connection: { kind: "nedb", connected: true }
		});
	});

	it("answers bad input with a clear 4xx and a stable type", async () => {
		const cases: [string, Promise<Response>, number, string][] = [
			["unknown type", post("/api/tasks", { type: "nope" }), 422, "UNKNOWN_TASK_TYPE"],
			["invalid params", post("/api/tasks", { type: "noop", payload: { delayMillis: "soon" } }), 422, "INVALID_TASK_PAYLOAD"],
			["unknown payload field", post("/api/tasks", { type: "noop", payload: { surprise: 1 } }), 422, "INVALID_TASK_PAYLOAD"],
			["dotted key in the payload", post("/api/tasks", { type: "noop", payload: { echo: [{ "a.b": 1 }] } }), 422, "INVALID_FIELD_NAME"],
			["$ key in the metadata", post("/api/tasks", { type: "noop", metadata: { $where: "1" } }), 422, "INVALID_FIELD_NAME"],
			["dotted key in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop", payload: { echo: { "x.y": 1 } } }] }), 422, "INVALID_FIELD_NAME"],
			["priority 0", post("/api/tasks", { type: "noop", priority: 0 }), 422, "VALIDATION_ERROR"],
			["priority 11", post("/api/tasks", { type: "noop", priority: 11 }), 422, "VALIDATION_ERROR"],
			["priority 0 in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop", priority: 0 }] }), 422, "VALIDATION_ERROR"],
			["priority as text in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop", priority: "high" }] }), 422, "VALIDATION_ERROR"],
			["maxAttempts 0 in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop", maxAttempts: 0 }] }), 422, "VALIDATION_ERROR"],
			["negative timeout in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop", timeoutMs: -5 }] }), 422, "VALIDATION_ERROR"],
			["cron with three fields", post("/api/tasks", { type: "noop", cron: "* * *" }), 422, "INVALID_SCHEDULE"],
			["empty cron", post("/api/tasks", { type: "noop", cron: "" }), 422, "VALIDATION_ERROR"],
			["misspelt field", post("/api/tasks", { type: "noop", priorty: 9 }), 422, "VALIDATION_ERROR"],
			["misspelt field in a batch", post("/api/tasks/batch", { tasks: [{ type: "noop", idempotency_key: "k" }] }), 422, "VALIDATION_ERROR"],
			["misspelt field on the seed route", post("/api/v1/web-pages/parse", { url: "https://example.org/", option: {} }), 422, "VALIDATION_ERROR"],
			["missing type", post("/api/tasks", { payload: {} }), 422, "VALIDATION_ERROR"],
			["dependsOn a missing task", post("/api/tasks", { type: "noop", dependsOn: ["ghost"] }), 422, "DEPENDENCY_NOT_FOUND"],
			["bad runAt", post("/api/tasks", { type: "noop", runAt: "tomorrow" }), 422, "INVALID_SCHEDULE"],
			["malformed JSON", post("/api/tasks", '{"type": "noop",'), 400, "INVALID_JSON"],
			["an array of tasks on the one-task route", post("/api/tasks", [{ type: "noop" }]), 422, "INVALID_BODY"],
			["a bare string body", post("/api/tasks", '"noop"'), 422, "INVALID_BODY"],
			["a null body on the batch route", post("/api/tasks/batch", "null"), 422, "INVALID_BODY"],
			["an array body on the profile route", post("/api/profiles", [{ name: "p" }]), 422, "INVALID_BODY"],
			["unknown id", fetch(`${base}/api/tasks/does-not-exist`), 404, "TASK_NOT_FOUND"],
			["unknown id events", fetch(`${base}/api/tasks/does-not-exist/events`), 404, "TASK_NOT_FOUND"],
			["cancel unknown id", post("/api/tasks/does-not-exist/cancel", {}), 404, "TASK_NOT_FOUND"],
			["unknown route", fetch(`${base}/api/nothing-here`), 404, "NOT_FOUND"],
			["bad status filter", fetch(`${base}/api/tasks?status=sleeping`), 422, "VALIDATION_ERROR"],
			["metadata address", post("/api/tasks", { type: "http.check", payload: { url: "http://169.254.169.254/latest/meta-data" } }), 422, "URL_NOT_ALLOWED"],
			["non-http scheme", post("/api/tasks", { type: "http.check", payload: { url: "ftp://example.org/" } }), 422, "INVALID_TASK_PAYLOAD"]
		];
		for (const [name, request, code, type] of cases) {
			const { status, body } = await json(await request);
			expect({ name, status, type: body.type }).toEqual({ name, status: code, type });
			expect(body).toEqual(expect.objectContaining({ name: expect.any(String), message: expect.any(String), code }));
		}
		// An array on the one-task route is most likely a batch sent to the wrong place: the answer says where to send it.
		const misrouted = await json(await post("/api/tasks", [{ type: "noop" }]));
		expect(misrouted.body.message).toContain("/api/tasks/batch");
	});

	it("refuses a 100 MB body with 413 and keeps serving", async () => {
		const status = await new Promise<number>((resolve, reject) => {
			const req = http.request(`${base}/api/tasks`, { method: "POST", headers: { "content-type": "application/json", "content-length": 100 * 1024 * 1024 } }, res => {
				res.resume();
				resolve(res.statusCode!);
			});
			req.on("error", reject);
			const chunk = Buffer.alloc(1024 * 1024, "a");
			let sent = 0;
			const pump = () => {
				while (sent < 100) {
					sent++;
					if (!req.write(chunk)) return req.once("drain", pump);
				}
				req.end();
			};
			pump();
		}).catch((err: any) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? 413 : Promise.reject(err)));
		expect(status).toBe(413);
		expect((await fetch(`${base}/health`)).status).toBe(200);
		expect((await post("/api/tasks", { type: "noop" })).status).toBe(202);
	});

	it("cancels and retries over HTTP", async () => {
		const { body } = await json(await post("/api/tasks", { type: "test.behave", payload: { sleepMillis: 30000 } }));
		await waitFor(async () => (await json(await fetch(`${base}/api/tasks/${body.id}`))).body.status === "running");
		expect((await post(`/api/tasks/${body.id}/cancel`, { reason: "enough" })).status).toBe(200);
		await waitFor(async () => (await json(await fetch(`${base}/api/tasks/${body.id}`))).body.status === "cancelled");
		expect((await json(await post(`/api/tasks/${body.id}/cancel`, {}))).body.type).toBe("TASK_STATE_CONFLICT");
		const retried = await json(await post(`/api/tasks/${body.id}/retry`, {}));
		expect(retried).toMatchObject({ status: 200, body: { status: "queued" } });
		await post(`/api/tasks/${body.id}/cancel`, {});

		const failed = await json(await post("/api/tasks", { type: "test.behave", payload: { failTimes: 9, errorClass: "fatal" } }));
		await waitFor(async () => (await json(await fetch(`${base}/api/dead-letters`))).body.items.some((t: any) => t.id === failed.body.id));
	});

	it("streams one task's events until it ends, and all events", async () => {
		const { body } = await json(await post("/api/tasks", { type: "test.behave", payload: { sleepMillis: 100, progressBursts: 3 }, runAt: new Date(Date.now() + 200).toISOString() }));
		const events = await readEvents(`${base}/api/tasks/${body.id}/events`);
		expect(events[0]).toMatchObject({ event: "task.snapshot", data: { id: body.id, status: "queued" } });
		const names = events.map(e => e.event);
		expect(names.slice(1, 3)).toEqual(["task.started", "task.progress"]);
		expect(names.at(-1)).toBe("task.completed");
		expect(events.at(-1)!.data).toMatchObject({ taskId: body.id, taskType: "test.behave", duration: expect.any(Number), timestamp: expect.any(String) });

		let submittedId = "";
		const all = await readEvents(
			`${base}/api/events`,
			async () => {
				// The stream is open once the response headers arrived.
				submittedId = (await json(await post("/api/tasks", { type: "noop" }))).body.id;
			},
			seen => seen.some(e => e.event === "task.completed" && e.data.taskId === submittedId)
		);
		expect(all.filter(e => e.data.taskId === submittedId).map(e => e.event)).toEqual(["task.queued", "task.started", "task.completed"]);
	});

	it("streams only the events a client names, and refuses an unknown name", async () => {
		let submittedId = "";
		const outcomes = await readEvents(
			`${base}/api/events?event=task.completed,task.failed`,
			async () => {
				submittedId = (await json(await post("/api/tasks", { type: "noop" }))).body.id;
			},
			seen => seen.some(e => e.event === "task.completed" && e.data.taskId === submittedId)
		);
		expect(new Set(outcomes.map(e => e.event))).toEqual(new Set(["task.completed"]));

		const refused = await json(await fetch(`${base}/api/events?event=task.completed,task.done`));
		expect(refused.status).toBe(422);
		expect(refused.body).toMatchObject({ type: "UNKNOWN_EVENT", data: { events: ["task.done"] } });
	});

	it("streams one task type's events, its progress included, and refuses a type no node knows", async () => {
		let behaveId = "";
		const events = await readEvents(
			`${base}/api/events?type=test.behave`,
			async () => {
				// Another type's progress goes out first: it must not reach this stream.
				await json(await post("/api/tasks", { type: "http.check", payload: { url: `${base}/health` } }));
				behaveId = (await json(await post("/api/tasks", { type: "test.behave", payload: { progressBursts: 2 } }))).body.id;
			},
			seen => seen.some(e => e.event === "task.completed" && e.data.taskId === behaveId)
		);
		expect(events.every(e => e.data.taskType === "test.behave")).toBe(true);
		expect(events.filter(e => e.data.taskId === behaveId).map(e => e.event)).toContain("task.progress");

		const refused = await json(await fetch(`${base}/api/events?type=page-parse`));
		expect(refused).toMatchObject({ status: 422, body: { type: "UNKNOWN_TASK_TYPE", data: { type: "page-parse" } } });
	});
});

describe("HTTP gateway with API keys", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		broker = await startBroker({ apiKeys: ["s3cret"] }, ["api", "scheduler"]);
	});
	afterAll(() => broker.stop());

	it("requires a key on /api and accepts it as a header or bearer token", async () => {
		const base = gatewayUrl(broker);
		const none = await json(await fetch(`${base}/api/tasks`));
		expect(none).toMatchObject({ status: 401, body: { type: "UNAUTHORIZED" } });
		expect((await fetch(`${base}/api/tasks`, { headers: { "x-api-key": "wrong" } })).status).toBe(401);
		expect((await fetch(`${base}/api/tasks`, { headers: { "x-api-key": "s3cret" } })).status).toBe(200);
		expect((await fetch(`${base}/api/tasks`, { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
		expect((await fetch(`${base}/api/events`)).status).toBe(401);
		// In the query, the key is the gateway's: it does not reach the action as a parameter.
		const submitted = await fetch(`${base}/api/tasks?apiKey=s3cret`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ type: "noop" })
		});
		expect(submitted.status).toBe(202);
		expect((await fetch(`${base}/health`)).status).toBe(200);
	});
});

describe("HTTP gateway without a scheduler", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		broker = await startBroker({}, ["api"]);
	});
	afterAll(() => broker.stop());

	it("answers 503 SERVICE_UNAVAILABLE with Retry-After while no node runs the scheduler, and stays up", async () => {
		const base = gatewayUrl(broker);
		const res = await fetch(`${base}/api/tasks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "noop" }) });
		expect(res.headers.get("retry-after")).toBe("1");
		expect(await json(res)).toMatchObject({ status: 503, body: { name: "ServiceUnavailableError", code: 503, type: "SERVICE_UNAVAILABLE" } });
		expect(await json(await fetch(`${base}/health/background-tasks`))).toMatchObject({ status: 200, body: { status: "degraded" } });
		expect((await fetch(`${base}/health`)).status).toBe(200);
	});
});

describe("dashboard", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		broker = await startBroker({ apiKeys: ["k"] }, ["api", "scheduler"]);
	});
	afterAll(() => broker.stop());

	it("serves the page, and its event stream authenticates with an apiKey parameter", async () => {
		const base = gatewayUrl(broker);
		const page = await fetch(`${base}/`);
		expect(page.status).toBe(200);
		expect(await page.text()).toContain("<title>Nightshift</title>");
		const controller = new AbortController();
		const stream = await fetch(`${base}/api/events?apiKey=k`, { signal: controller.signal });
		expect(stream.status).toBe(200);
		controller.abort();
		expect((await fetch(`${base}/api/events?apiKey=nope`)).status).toBe(401);
	});
});
