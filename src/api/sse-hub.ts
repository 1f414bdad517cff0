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

/** A client's events not yet written, and whether its stream ends after them. */
interface Pending {
	text: string;
	end: boolean;
}

/**
 * Server-sent event streams: one `text/event-stream` response per client, fed by `publish`. Events are written once
 * per event-loop turn, all of a client's in one socket write: a busy scheduler emits several events per task, and a
 * write to a loopback socket costs more than formatting many events (a third of the gateway's socket time before).
 */
export class SseHub {
	private readonly clients = new Set<SseClient>();
	private readonly pending = new Map<SseClient, Pending>();
	private flushScheduled = false;
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
		res.on("close", () => {
			this.clients.delete(client);
			this.pending.delete(client);
		});
		for (const { event, data } of initial) this.write(client, event, data);
	}

	publish(event: string, payload: unknown): void {
		for (const client of this.clients) {
			if (!client.accepts(event, payload)) continue;
			this.write(client, event, payload);
			if (client.endsWith?.(event, payload)) this.close(client);
		}
	}

	/** Ends a stream after the events already published to it. */
	close(client: SseClient): void {
		this.clients.delete(client);
		const pending = this.pending.get(client);
		if (pending) pending.end = true;
		else client.res.end();
	}

	closeAll(): void {
		clearInterval(this.keepalive);
		for (const c of this.clients) this.close(c);
		this.flush();
	}

	private write(client: SseClient, event: string, data: unknown): void {
		const text = `id: ${++this.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
		const pending = this.pending.get(client);
		if (pending) pending.text += text;
		else this.pending.set(client, { text, end: false });
		if (!this.flushScheduled) {
			this.flushScheduled = true;
			setImmediate(() => this.flush());
		}
	}

	private flush(): void {
		this.flushScheduled = false;
		for (const [client, { text, end }] of this.pending) {
			if (client.res.writableLength > MAX_BACKLOG_BYTES) {
				// A reader this far behind is dropped rather than buffered without bound.
				this.clients.delete(client);
				client.res.end();
				continue;
			}
			if (end) client.res.end(text);
			else client.res.write(text);
		}
		this.pending.clear();
	}
}
