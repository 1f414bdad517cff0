/** HTTP helpers for the benchmarks: a free port, a keep-alive JSON client, and a server-sent events reader. */
import http from "node:http";
import net from "node:net";
import { epochNow, sleep } from "./stats";

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export interface HttpAnswer<T = any> {
	status: number;
	body: T;
}

/** JSON over HTTP/1.1 with keep-alive, so a latency sample does not include a TCP handshake. */
export class HttpClient {
	readonly agent: http.Agent;

	constructor(
		readonly baseUrl: string,
		maxSockets = 128
	) {
		// Idle sockets are dropped before the server's keep-alive timeout (5 s) closes them: a burst of requests after a
		// long wait would otherwise reuse sockets the server is closing ("socket hang up").
		this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: 4000 });
	}

	request<T = any>(method: string, path: string, body?: unknown): Promise<HttpAnswer<T>> {
		const payload = body === undefined ? undefined : JSON.stringify(body);
		return new Promise((resolve, reject) => {
			const req = http.request(
				`${this.baseUrl}${path}`,
				{
					method,
					agent: this.agent,
					headers: payload
						? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
						: {}
				},
				res => {
					const chunks: Buffer[] = [];
					res.on("data", c => chunks.push(c));
					res.on("end", () => {
						const text = Buffer.concat(chunks).toString("utf8");
						let parsed: any = text;
						try {
							parsed = text ? JSON.parse(text) : null;
						} catch {
							/* not JSON */
						}
						resolve({ status: res.statusCode ?? 0, body: parsed });
					});
					res.on("error", reject);
				}
			);
			req.on("error", reject);
			if (payload) req.write(payload);
			req.end();
		});
	}

	post<T = any>(path: string, body: unknown) {
		return this.request<T>("POST", path, body);
	}

	/**
	 * A GET is safe to repeat: once more when a kept-alive socket was reset (the server closes idle sockets after its
	 * keep-alive timeout, and a request can race that close).
	 */
	async get<T = any>(path: string) {
		try {
			return await this.request<T>("GET", path);
		} catch (err: any) {
			if (err?.code !== "ECONNRESET") throw err;
			return this.request<T>("GET", path);
		}
	}

	close(): void {
		this.agent.destroy();
	}
}

/** Polls until `GET url` answers 200, or throws after `timeoutMillis`. */
export async function waitHttpOk(url: string, timeoutMillis: number, isAlive: () => boolean = () => true): Promise<void> {
	const deadline = Date.now() + timeoutMillis;
	for (;;) {
		if (!isAlive()) throw new Error(`process behind ${url} exited`);
		const ok = await new Promise<boolean>(resolve => {
			const req = http.get(url, res => {
				res.resume();
				resolve(res.statusCode === 200);
			});
			req.on("error", () => resolve(false));
			req.setTimeout(1000, () => req.destroy());
		});
		if (ok) return;
		if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMillis} ms`);
		await sleep(50);
	}
}

export interface SseEvent {
	event: string;
	data: any;
	/** Epoch millis (sub-ms) when the chunk holding the event arrived. */
	receivedAt: number;
}

/** Reads a `text/event-stream` response; `onEvent` runs for each complete event. */
export class SseReader {
	private req: http.ClientRequest | null = null;
	private buffer = "";
	private closed = false;

	constructor(
		private readonly url: string,
		private readonly onEvent: (e: SseEvent) => void
	) {}

	/** Resolves once the response headers and the first bytes are in (the server has registered the client). */
	open(timeoutMillis = 5000): Promise<void> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`SSE ${this.url} did not open`)), timeoutMillis);
			this.req = http.get(this.url, { headers: { accept: "text/event-stream" } }, res => {
				if (res.statusCode !== 200) {
					clearTimeout(timer);
					reject(new Error(`SSE ${this.url} answered ${res.statusCode}`));
					res.resume();
					return;
				}
				res.setEncoding("utf8");
				let first = true;
				res.on("data", (chunk: string) => {
					const receivedAt = epochNow();
					if (first) {
						first = false;
						clearTimeout(timer);
						resolve();
					}
					this.feed(chunk, receivedAt);
				});
				res.on("error", () => undefined);
			});
			this.req.on("error", err => {
				clearTimeout(timer);
				if (!this.closed) reject(err);
			});
		});
	}

	private feed(chunk: string, receivedAt: number): void {
		this.buffer += chunk;
		let end: number;
		while ((end = this.buffer.indexOf("\n\n")) >= 0) {
			const block = this.buffer.slice(0, end);
			this.buffer = this.buffer.slice(end + 2);
			let event = "message";
			const data: string[] = [];
			for (const line of block.split("\n")) {
				if (line.startsWith("event:")) event = line.slice(6).trim();
				else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
			}
			if (data.length === 0) continue;
			let parsed: any = data.join("\n");
			try {
				parsed = JSON.parse(parsed);
			} catch {
				/* plain text */
			}
			this.onEvent({ event, data: parsed, receivedAt });
		}
	}

	close(): void {
		this.closed = true;
		this.req?.destroy();
	}
}
