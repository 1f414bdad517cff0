import type { ServerResponse } from "node:http";

/**
 * A client whose unread backlog passes this is dropped rather than buffered without bound. Generous, because a
 * batch submit produces thousands of events within one tick, faster than any socket drains.
 */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
const KEEPALIVE_MILLIS = 15000;

export interface SseClient {
	res: ServerResponse;
	/** Which events this client wants. */
	accepts(event: string, payload: any): boolean;
	/** True when this event ends the stream (a per-task stream ends with the task). */
	endsWith?(event: string, payload: any): boolean;
}

/** Server-sent event streams: one `text/event-stream` response per client, fed by `publish`. */
export class SseHub {
	private readonly clients = new Set<SseClient>();
	private seq = 0;
	private readonly keepalive: NodeJS.Timeout;

	constructor() {
		this.keepalive = setInterval(() => {
			for (const c of this.clients) c.res.write(": keepalive\n\n");
		}, KEEPALIVE_MILLIS);
		this.keepalive.unref();
	}

	get size(): number {
		return this.clients.size;
	}

	/** Starts the stream; `initial` events are written first (a snapshot of the current state). */
	open(client: SseClient, initial: { event: string; data: unknown }[] = []): void {
		const { res } = client;
		res.writeHead(200, {
			"Content-Type": "text/event-stream; charset=utf-8",
			"Cache-Control": "no-cache, no-transform",
			Connection: "keep-alive",
			"X-Accel-Buffering": "no"
		});
		res.write("retry: 2000\n\n");
		this.clients.add(client);
		res.on("close", () => this.clients.delete(client));
		for (const { event, data } of initial) this.write(client, event, data);
	}

	publish(event: string, payload: unknown): void {
		for (const client of this.clients) {
			if (!client.accepts(event, payload)) continue;
			this.write(client, event, payload);
			if (client.endsWith?.(event, payload)) this.close(client);
		}
	}

	close(client: SseClient): void {
		this.clients.delete(client);
		client.res.end();
	}

	closeAll(): void {
		clearInterval(this.keepalive);
		for (const c of this.clients) this.close(c);
	}

	private write(client: SseClient, event: string, data: unknown): void {
		if (client.res.writableLength > MAX_BACKLOG_BYTES) {
			this.close(client);
			return;
		}
		client.res.write(`id: ${++this.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
	}
}
