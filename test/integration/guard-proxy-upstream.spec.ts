import dns from "node:dns";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import { type Browser } from "playwright";
import { launchTestChromium } from "../helpers/chromium";
import { GuardProxy, PROXY_ERROR_HEADER, REFUSED_HEADER } from "../../src/browser/guard-proxy";
import { UrlPolicy } from "../../src/tasks/url-policy";
import { startSite, type Site } from "../fixtures/site/site";
import { startUpstreamProxy, type UpstreamProxy } from "../fixtures/upstream-proxy";

jest.setTimeout(30_000);

const USER = "alice";
const PASSWORD = "s3cret-pa55";

interface Answer {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
}

const portOf = (url: string) => Number(new URL(url).port);

/** A plain-HTTP request through a proxy: the absolute URL as the path, as a browser sends it. */
function getVia(proxyUrl: string, target: string): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: "127.0.0.1", port: portOf(proxyUrl), path: target, headers: { host: new URL(target).host, connection: "close" } },
			res => {
				let body = "";
				res.setEncoding("utf8");
				res.on("data", chunk => (body += chunk));
				res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
			}
		);
		req.on("error", reject);
		req.end();
	});
}

/** `CONNECT authority` through a proxy; on 200, a GET spoken over the tunnel and the raw answer read to its end. */
function connectVia(proxyUrl: string, authority: string): Promise<Answer & { tunnelled?: string }> {
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: "127.0.0.1",
			port: portOf(proxyUrl),
			method: "CONNECT",
			path: authority,
			headers: { host: authority }
		});
		req.on("connect", (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
			const answer = { status: res.statusCode ?? 0, headers: res.headers, body: "" };
			if (answer.status !== 200) {
				socket.destroy();
				return resolve(answer);
			}
			const chunks: Buffer[] = [head];
			socket.on("data", chunk => chunks.push(chunk));
			socket.on("end", () => resolve({ ...answer, tunnelled: Buffer.concat(chunks).toString("utf8") }));
			socket.on("error", reject);
			socket.write(`GET / HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`);
		});
		req.on("error", reject);
		req.end();
	});
}

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", () => resolve()));
	const port = (server.address() as net.AddressInfo).port;
	await new Promise<void>(resolve => server.close(() => resolve()));
	return port;
}

describe("GuardProxy with an upstream proxy", () => {
	let site: Site;
	let upstream: UpstreamProxy;
	let browser: Browser | undefined;
	const guards: GuardProxy[] = [];

	/** A started guard, stopped in afterAll. */
	const guard = async (policy: UrlPolicy, up?: ConstructorParameters<typeof GuardProxy>[1]) => {
		const g = new GuardProxy(policy, up);
		guards.push(g);
		await g.start();
		return g;
	};
	const authedUpstream = () => ({ upstream: { server: upstream.url, username: USER, password: PASSWORD } });

	beforeAll(async () => {
		site = await startSite({ pages: 3 });
		upstream = await startUpstreamProxy({ username: USER, password: PASSWORD });
	});
	beforeEach(() => void (upstream.requests.length = 0));
	afterAll(async () => {
		await browser?.close();
		for (const g of guards) await g.stop();
		await upstream?.close();
		await site?.close();
	});

	it("takes only http:// upstreams", () => {
		const policy = new UrlPolicy(true);
		for (const server of ["https://proxy.example:443", "socks5://proxy.example:1080"])
			expect(() => new GuardProxy(policy, { upstream: { server } })).toThrow("only http:// upstream proxies are supported");
		// Playwright's short form `host:port` is an http proxy.
		expect(() => new GuardProxy(policy, { upstream: { server: "127.0.0.1:3128" } })).not.toThrow();
	});

	it("carries a Chromium context's traffic, loopback included, through the upstream with its credentials", async () => {
		const g = await guard(new UrlPolicy(true), authedUpstream());
		browser = await launchTestChromium();
		// No `bypass`: Playwright adds `<-loopback>` to a context's bypass list unless the list names a loopback host itself.
		// The explicit form must behave the same.
		for (const proxy of [{ server: g.url }, { server: g.url, bypass: "<-loopback>" }]) {
			upstream.requests.length = 0;
			const context = await browser.newContext({ proxy });
			try {
				const page = await context.newPage();
				const response = await page.goto(`${site.baseUrl}/`);
				expect(response?.status()).toBe(200);
				expect(await page.title()).toBe(site.model(0).title);
			} finally {
				await context.close();
			}
			expect(upstream.requests).toContainEqual({ method: "GET", target: `${site.baseUrl}/`, auth: USER, accepted: true });
			expect(upstream.requests.every(r => r.accepted)).toBe(true);
		}
		// Closed here, not in afterAll: a live browser's late requests would land in the next tests' upstream log.
		await browser.close();
		browser = undefined;
	});

	it("forwards plain HTTP to the upstream with the absolute URL and the credentials", async () => {
		const g = await guard(new UrlPolicy(true), authedUpstream());
		const answer = await getVia(g.url, `${site.baseUrl}/page/1`);
		expect(answer.status).toBe(200);
		expect(answer.body).toContain(site.model(1).title);
		expect(upstream.requests).toEqual([{ method: "GET", target: `${site.baseUrl}/page/1`, auth: USER, accepted: true }]);
	});

	it("tunnels CONNECT through the upstream", async () => {
		const g = await guard(new UrlPolicy(true), authedUpstream());
		const authority = `127.0.0.1:${portOf(site.baseUrl)}`;
		const answer = await connectVia(g.url, authority);
		expect(answer.status).toBe(200);
		expect(answer.tunnelled).toMatch(/^HTTP\/1\.1 200 /);
		expect(answer.tunnelled).toContain(site.model(0).title);
		expect(upstream.requests).toEqual([{ method: "CONNECT", target: authority, auth: USER, accepted: true }]);
	});

	it("answers 502 UPSTREAM_PROXY_AUTH_REQUIRED when the upstream refuses the credentials, without echoing them", async () => {
		const g = await guard(new UrlPolicy(true), { upstream: { server: upstream.url, username: USER, password: "wrong" } });
		const plain = await getVia(g.url, `${site.baseUrl}/`);
		expect(plain.status).toBe(502);
		expect(plain.headers[PROXY_ERROR_HEADER]).toBe("UPSTREAM_PROXY_AUTH_REQUIRED");
		expect(JSON.stringify(plain)).not.toContain("wrong");
		const tunnel = await connectVia(g.url, `127.0.0.1:${portOf(site.baseUrl)}`);
		expect(tunnel.status).toBe(502);
		expect(tunnel.headers[PROXY_ERROR_HEADER]).toBe("UPSTREAM_PROXY_AUTH_REQUIRED");
		expect(upstream.requests.map(r => [r.method, r.auth, r.accepted])).toEqual([
			["GET", USER, false],
			["CONNECT", USER, false]
		]);
	});

	it("answers 502 with the socket error when the upstream cannot be reached", async () => {
		const g = await guard(new UrlPolicy(true), { upstream: { server: `http://127.0.0.1:${await closedPort()}` } });
		const plain = await getVia(g.url, `${site.baseUrl}/`);
		expect(plain.status).toBe(502);
		expect(plain.headers[PROXY_ERROR_HEADER]).toBe("ECONNREFUSED");
		const tunnel = await connectVia(g.url, `127.0.0.1:${portOf(site.baseUrl)}`);
		expect(tunnel.status).toBe(502);
		expect(tunnel.headers[PROXY_ERROR_HEADER]).toBe("ECONNREFUSED");
	});

	it("still applies the URL policy to the target before the upstream sees anything", async () => {
		// The upstream itself is on loopback: refused as a target, allowed as the user's proxy.
		const g = await guard(new UrlPolicy(false), authedUpstream());
		const plain = await getVia(g.url, `${site.baseUrl}/`);
		expect(plain.status).toBe(403);
		expect(plain.headers[REFUSED_HEADER]).toMatch(/loopback/);
		const tunnel = await connectVia(g.url, `127.0.0.1:${portOf(site.baseUrl)}`);
		expect(tunnel.status).toBe(403);
		expect(tunnel.headers[REFUSED_HEADER]).toMatch(/loopback/);
		expect(g.refused).toBe(2);
		expect(upstream.requests).toEqual([]);
	});

	it("checks what a target name resolves to, as without an upstream", async () => {
		// The machine's own name resolves to loopback or a private address in most containers and CI runners; elsewhere
		// there is nothing to test here.
		const name = os.hostname();
		const policy = new UrlPolicy(false);
		const addresses = await dns.promises.lookup(name, { all: true }).catch(() => []);
		if (!addresses.some(a => policy.addressRefusal(a.address))) return;
		const g = await guard(policy, authedUpstream());
		const plain = await getVia(g.url, `http://${name}:${portOf(site.baseUrl)}/`);
		expect(plain.status).toBe(403);
		expect(plain.headers[REFUSED_HEADER]).toContain(`${name} resolves to`);
		const tunnel = await connectVia(g.url, `${name}:${portOf(site.baseUrl)}`);
		expect(tunnel.status).toBe(403);
		expect(tunnel.headers[REFUSED_HEADER]).toContain(`${name} resolves to`);
		expect(upstream.requests).toEqual([]);
	});
});
