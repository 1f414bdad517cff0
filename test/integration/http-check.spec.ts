import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { startBroker, waitFor } from "../helpers/broker";

describe("http.check task", () => {
	let server: http.Server;
	let site: string;
	let broker: ServiceBroker;

	beforeAll(async () => {
		server = http.createServer((req, res) => {
			const routes: Record<string, () => void> = {
				"/ok": () => res.writeHead(200, { "content-type": "text/plain" }).end("hello world"),
				"/fail": () => res.writeHead(500).end("down"),
				"/missing": () => res.writeHead(404).end("no"),
				"/hop": () => res.writeHead(302, { location: "/ok" }).end(),
				"/to-metadata": () => res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end()
			};
			(routes[req.url ?? ""] ?? routes["/missing"])();
		});
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		broker = await startBroker({}, ["scheduler", "browser-pool"]);
	});
	afterAll(async () => {
		await broker.stop();
		server.close();
	});

	const run = async (payload: object, extra: object = {}) => {
		const { id } = await broker.call<any, any>("scheduler.submit", { type: "http.check", payload, ...extra });
		return waitFor(async () => {
			const t = await broker.call<any, any>("scheduler.get", { id });
			return ["completed", "failed"].includes(t.status) ? t : null;
		});
	};

	it("passes on the expected status and body", async () => {
		const task = await run({ url: `${site}/ok`, bodyContains: "hello" });
		expect(task.status).toBe("completed");
		expect(task.result).toMatchObject({ status: 200, finalUrl: `${site}/ok`, contentType: "text/plain", bytes: 11 });
	});

	it("follows redirects and reports where it ended", async () => {
		const task = await run({ url: `${site}/hop` });
		expect(task.result).toMatchObject({ status: 200, finalUrl: `${site}/ok` });
		expect(task.log).toEqual([expect.objectContaining({ message: "redirected" })]);
	});

	it("retries a server error, then dead-letters it", async () => {
		const task = await run({ url: `${site}/fail` }, { maxAttempts: 2 });
		expect(task).toMatchObject({ status: "failed", attempts: 2, error: { type: "HTTP_CHECK_FAILED", errorClass: "retryable" } });
	});

	it("fails at once on an unexpected client status or a missing body text", async () => {
		const missing = await run({ url: `${site}/missing` });
		expect(missing).toMatchObject({ status: "failed", attempts: 1, error: { errorClass: "fatal", data: { status: 404 } } });
		const text = await run({ url: `${site}/ok`, bodyContains: "goodbye" });
		expect(text).toMatchObject({ status: "failed", attempts: 1, error: { type: "HTTP_CHECK_FAILED" } });
		const expected = await run({ url: `${site}/missing`, expectStatus: [404] });
		expect(expected.status).toBe("completed");
	});

	it("refuses a redirect to a cloud metadata address", async () => {
		const task = await run({ url: `${site}/to-metadata` });
		expect(task).toMatchObject({ status: "failed", attempts: 1, error: { type: "URL_NOT_ALLOWED" } });
	});

	it("retries a refused connection", async () => {
		const closed = http.createServer();
		await new Promise<void>(resolve => closed.listen(0, "127.0.0.1", resolve));
		const port = (closed.address() as AddressInfo).port;
		await new Promise(resolve => closed.close(resolve));
		const task = await run({ url: `http://127.0.0.1:${port}/` }, { maxAttempts: 2 });
		expect(task).toMatchObject({ status: "failed", attempts: 2, error: { errorClass: "retryable" } });
		expect(task.error.message).toMatch(/ECONNREFUSED/);
	});
});

describe("http.check without ALLOW_PRIVATE_NETWORKS", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		broker = await startBroker({ allowPrivateNetworks: false }, ["scheduler"]);
	});
	afterAll(() => broker.stop());

	it("refuses loopback and private URLs at submit", async () => {
		for (const url of ["http://127.0.0.1:9/", "http://localhost/", "http://10.0.0.1/"])
			await expect(broker.call("scheduler.submit", { type: "http.check", payload: { url } })).rejects.toMatchObject({
				code: 422,
				type: "URL_NOT_ALLOWED"
			});
	});
});
