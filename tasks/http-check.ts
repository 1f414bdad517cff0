import http from "node:http";
import https from "node:https";
import { ERROR_TYPES, TaskError } from "../src/errors";
import { defineTask, TaskContext } from "../src/tasks/definition";

interface HttpCheckPayload {
	url: string;
	/** Accepted statuses. @default [200..299] */
	expectStatus?: number[];
	/** Text the body must contain. */
	bodyContains?: string;
	/** Redirects followed, each hop checked against the URL policy. @default 5 */
	maxRedirects?: number;
	headers?: Record<string, string>;
}

/** Most of a body kept for the `bodyContains` check and the result excerpt. */
const MAX_BODY_BYTES = 1024 * 1024;

interface Answer {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
}

function get(ctx: TaskContext<HttpCheckPayload>, url: string): Promise<Answer> {
	const client = url.startsWith("https:") ? https : http;
	return new Promise((resolve, reject) => {
		const req = client.get(
			url,
			{ headers: ctx.payload.headers, lookup: ctx.urls.lookup, signal: ctx.signal },
			res => {
				const chunks: Buffer[] = [];
				let size = 0;
				res.on("data", (chunk: Buffer) => {
					if (size < MAX_BODY_BYTES) chunks.push(chunk);
					size += chunk.length;
				});
				res.on("end", () =>
					resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })
				);
				res.on("error", reject);
			}
		);
		req.on("error", reject);
	});
}

/** GET a URL and assert its status and body: the seeds' health checks. */
export default defineTask<HttpCheckPayload>({
	name: "http.check",
	description: "GET a URL (following redirects) and assert the status and an optional body substring.",
	params: {
		url: { type: "url" },
		expectStatus: { type: "array", items: { type: "number", integer: true, min: 100, max: 599 }, optional: true },
		bodyContains: { type: "string", optional: true },
		maxRedirects: { type: "number", integer: true, min: 0, max: 20, optional: true },
		headers: { type: "record", key: { type: "string" }, value: { type: "string" }, optional: true }
	},
	timeoutMillis: 30000,
	estimatedDurationMillis: 500,
	urls: payload => [payload.url],
	async handler(ctx) {
		const { expectStatus, bodyContains, maxRedirects = 5 } = ctx.payload;
		const started = Date.now();
		let url = ctx.payload.url;
		ctx.progress(10, "requesting");
		let answer = await get(ctx, url);
		for (let hops = 0; answer.status >= 300 && answer.status < 400 && answer.headers.location; hops++) {
			if (hops >= maxRedirects)
				throw new TaskError(`More than ${maxRedirects} redirects`, "fatal", ERROR_TYPES.HTTP_CHECK_FAILED, { url });
			url = new URL(answer.headers.location, url).toString();
			await ctx.urls.assertAllowed(url);
			ctx.log("info", "redirected", { status: answer.status, to: url });
			answer = await get(ctx, url);
		}
		ctx.progress(80, "checking response");
		const statusOk = expectStatus ? expectStatus.includes(answer.status) : answer.status >= 200 && answer.status < 300;
		if (!statusOk) {
			// A server error may pass; any other unexpected status will answer the same next time.
			throw new TaskError(
				`Unexpected status ${answer.status} from ${url}`,
				answer.status >= 500 ? "retryable" : "fatal",
				ERROR_TYPES.HTTP_CHECK_FAILED,
				{ url, status: answer.status }
			);
		}
		if (bodyContains !== undefined && !answer.body.includes(bodyContains))
			throw new TaskError(`Body of ${url} does not contain "${bodyContains}"`, "fatal", ERROR_TYPES.HTTP_CHECK_FAILED, {
				url,
				status: answer.status
			});
		return {
			url: ctx.payload.url,
			finalUrl: url,
			status: answer.status,
			contentType: answer.headers["content-type"] ?? null,
			bytes: Buffer.byteLength(answer.body),
			durationMillis: Date.now() - started
		};
	}
});
