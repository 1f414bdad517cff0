import { EventEmitter } from "node:events";
import { SseHub } from "../../src/api/sse-hub";

/** Just enough of a ServerResponse: records writes and the end. */
class FakeResponse extends EventEmitter {
	writes: string[] = [];
	ended = false;
	writableLength = 0;
	writeHead(): this {
		return this;
	}
	write(text: string): boolean {
		this.writes.push(text);
		return true;
	}
	end(text?: string): this {
		if (text) this.writes.push(text);
		this.ended = true;
		this.emit("close");
		return this;
	}
}

const nextTurn = () => new Promise(resolve => setImmediate(resolve));

describe("SseHub", () => {
	let hub: SseHub;
	beforeEach(() => (hub = new SseHub()));
	afterEach(() => hub.closeAll());

	it("writes a turn's events to a client in one write, in order", async () => {
		const res = new FakeResponse();
		hub.open({ res: res as any, accepts: () => true });
		const opened = res.writes.length;
		for (let i = 0; i < 100; i++) hub.publish("task.queued", { taskId: `t${i}` });
		expect(res.writes.length).toBe(opened); // nothing written within the turn
		await nextTurn();
		expect(res.writes.length).toBe(opened + 1);
		const ids = [...res.writes.at(-1)!.matchAll(/data: (.*)\n/g)].map(m => JSON.parse(m[1]).taskId);
		expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`));
	});

	it("ends a stream after its last event, and sends it nothing more", async () => {
		const res = new FakeResponse();
		hub.open({ res: res as any, accepts: (_e, p) => p.taskId === "a", endsWith: e => e === "task.completed" });
		hub.publish("task.started", { taskId: "a" });
		hub.publish("task.started", { taskId: "b" });
		hub.publish("task.completed", { taskId: "a" });
		hub.publish("task.queued", { taskId: "a" });
		expect(res.ended).toBe(false);
		await nextTurn();
		expect(res.ended).toBe(true);
		const events = res.writes.join("").match(/event: (.*)/g);
		expect(events).toEqual(["event: task.started", "event: task.completed"]);
		expect(hub.size).toBe(0);
	});
});
