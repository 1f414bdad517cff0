import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { UrlPolicy } from "../tasks/url-policy";

/** Header on the proxy's refusal answers, so a handler can tell a refused navigation from a real 403. */
export const REFUSED_HEADER = "x-nightshift-refused";
/** Header on the proxy's 502 answers: the socket error (ENOTFOUND, ECONNREFUSED…) that prevented the request. */
export const PROXY_ERROR_HEADER = "x-nightshift-proxy-error";

/** A proxy the guard chains to: a browser profile's own proxy, in Playwright's `proxy` shape. */
export interface UpstreamProxy {
	/** `http://host:port` (a bare `host:port` means http, as in Playwright). */
	server: string;
	username?: string;
	password?: string;
}

export interface GuardProxyOptions {
	/** Where allowed traffic goes instead of straight to the target. */
	upstream?: UpstreamProxy;
}

/** Upper bound of the upstream's answer to CONNECT, so a misbehaving upstream cannot make the guard buffer forever. */
const MAX_CONNECT_ANSWER_BYTES = 16 * 1024;
/** A reachable upstream that never answers CONNECT would otherwise hold the tunnel until the browser gives up. */
const UPSTREAM_HANDSHAKE_MILLIS = 30_000;

/** Request headers that describe one hop, not the request: never forwarded. */
const HOP_BY_HOP = new Set([
	"connection",
	"keep-alive",
	"proxy-authorization",
	"proxy-connection",
	"proxy-authenticate",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade"
]);

/**
 * A forward proxy on 127.0.0.1 that every browser of the pool sends all its traffic through, so the URL policy holds
 * for everything a page does: navigations, redirects, sub-requests, fetches, WebSockets and TLS tunnels. Addresses are
 * checked when the proxy connects (after DNS), which also covers DNS rebinding. Playwright's `route()` cannot do this
 * alone: it does not see the requests a redirect makes.
 */
export class GuardProxy {
	private server?: http.Server;
	private readonly sockets = new Set<Duplex>();
	private readonly agent: http.Agent;
	private readonly upstream?: { host: string; port: number; authorization?: string };
	/** Requests and tunnels refused since start. */
	refused = 0;

	constructor(
		private readonly policy: UrlPolicy,
		options: GuardProxyOptions = {}
	) {
		if (options.upstream) {
			this.upstream = parseUpstream(options.upstream);
			// The agent connects to the upstream proxy only, so it gets no policy lookup: the upstream is the user's own
			// proxy and may well sit on a private network (a LAN proxy). Targets are checked before anything is sent to it.
			this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });
		} else this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, lookup: policy.lookup } as http.AgentOptions);
	}

	/** The `--proxy-server` value for Chromium. */
	get url(): string {
		const address = this.server?.address();
		if (!address || typeof address === "string") throw new Error("guard proxy is not listening");
		return `http://127.0.0.1:${address.port}`;
	}

	async start(): Promise<void> {
		const server = http.createServer((req, res) => this.forward(req, res));
		server.on("connect", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.tunnel(req, socket, head));
		server.on("connection", socket => {
			this.sockets.add(socket);
			socket.on("close", () => this.sockets.delete(socket));
		});
		server.on("clientError", (_err, socket) => socket.destroy());
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(0, "127.0.0.1", () => resolve());
		});
		this.server = server;
	}

	async stop(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		for (const s of this.sockets) s.destroy();
		this.agent.destroy();
		await new Promise<void>(resolve => server.close(() => resolve()));
	}

	private refusal(url: string): string | null {
		try {
			this.policy.check(url);
			return null;
		} catch (err: any) {
			return err?.data?.reason ?? err?.message ?? "refused";
		}
	}

	private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
		const target = req.url ?? "";
		const refused = this.refusal(target);
		if (refused || !target.startsWith("http://")) return this.refuse(res, refused ?? "only absolute http URLs are proxied");
		if (this.upstream) return void this.forwardUpstream(target, req, res);
		const url = new URL(target);
		const headers: http.OutgoingHttpHeaders = {};
		for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
		const upstream = http.request(
			{
				host: url.hostname.replace(/^\[|\]$/g, ""),
				port: url.port || 80,
				path: url.pathname + url.search,
				method: req.method,
				headers,
				agent: this.agent
			},
			answer => {
				const out: http.OutgoingHttpHeaders = {};
				for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
				res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
				answer.pipe(res);
				answer.on("error", () => res.destroy());
			}
		);
		upstream.on("error", (err: any) => {
			if (err?.type === "URL_NOT_ALLOWED") return this.refuse(res, err.data?.reason ?? err.message);
			if (!res.headersSent) {
				res.writeHead(502, { "content-type": "text/plain", [PROXY_ERROR_HEADER]: String(err?.code ?? "EPROXY") });
				res.end(`proxy: ${err?.code ?? err?.message}`);
			} else res.destroy();
		});
		res.on("close", () => upstream.destroy());
		req.pipe(upstream);
	}

	/**
	 * The target's DNS check, made here because the upstream resolves the name itself and no lookup of ours runs at
	 * connect time. Returns the refusal reason, or null. What the upstream's own DNS answers is beyond the guard's reach.
	 */
	private async resolvedRefusal(url: string): Promise<string | null> {
		try {
			await this.policy.assertAllowed(url);
			return null;
		} catch (err: any) {
			return err?.data?.reason ?? err?.message ?? "refused";
		}
	}

	/** Plain HTTP through the upstream: the absolute URL as the request path, as a proxy expects it. */
	private async forwardUpstream(target: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const upstream = this.upstream!;
		const refused = await this.resolvedRefusal(target);
		if (refused) {
			req.resume();
			return this.refuse(res, refused);
		}
		if (res.destroyed) return;
		const headers: http.OutgoingHttpHeaders = {};
		for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
		if (upstream.authorization) headers["proxy-authorization"] = upstream.authorization;
		const request = http.request(
			{ host: upstream.host, port: upstream.port, path: target, method: req.method, headers, agent: this.agent },
			answer => {
				// 407 can only come from the upstream itself. Other statuses may be the target's, so they pass through.
				if (answer.statusCode === 407) {
					answer.resume();
					return this.badGateway(res, "UPSTREAM_PROXY_AUTH_REQUIRED");
				}
				const out: http.OutgoingHttpHeaders = {};
				for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
				res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
				answer.pipe(res);
				answer.on("error", () => res.destroy());
			}
		);
		request.on("error", (err: any) => this.badGateway(res, String(err?.code ?? "EPROXY")));
		res.on("close", () => request.destroy());
		req.pipe(request);
	}

	private badGateway(res: http.ServerResponse, code: string): void {
		if (res.headersSent) return void res.destroy();
		res.writeHead(502, { "content-type": "text/plain", [PROXY_ERROR_HEADER]: code });
		res.end(`proxy: ${code}`);
	}

	private refuse(res: http.ServerResponse, reason: string): void {
		this.refused++;
		if (res.headersSent) return void res.destroy();
		res.writeHead(403, { "content-type": "text/plain", [REFUSED_HEADER]: reason });
		res.end(`Refused by the Nightshift URL policy: ${reason}`);
	}

	/** `CONNECT host:port`: TLS and WebSocket tunnels, checked like any request. */
	private tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
		const authority = req.url ?? "";
		const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(authority);
		const refused = match ? this.refusal(`https://${authority}/`) : "malformed CONNECT target";
		if (!match || refused) {
			this.refused++;
			client.end(`HTTP/1.1 403 Forbidden\r\n${REFUSED_HEADER}: ${refused}\r\n\r\n`);
			return;
		}
		if (this.upstream) return void this.tunnelUpstream(authority, client, head);
		const upstream = net.connect({
			host: match[1].replace(/^\[|\]$/g, ""),
			port: Number(match[2]),
			lookup: this.policy.lookup as any
		});
		upstream.once("connect", () => {
			client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
			if (head.length) upstream.write(head);
			upstream.pipe(client);
			client.pipe(upstream);
		});
		upstream.on("error", (err: any) => {
			if (err?.type === "URL_NOT_ALLOWED") this.refused++;
			client.end(err?.type === "URL_NOT_ALLOWED" ? "HTTP/1.1 403 Forbidden\r\n\r\n" : "HTTP/1.1 502 Bad Gateway\r\n\r\n");
		});
		client.on("error", () => upstream.destroy());
		client.on("close", () => upstream.destroy());
	}

	/** CONNECT through the upstream: checked here first, then the upstream's own CONNECT, then bytes both ways. */
	private async tunnelUpstream(authority: string, client: Duplex, head: Buffer): Promise<void> {
		const upstream = this.upstream!;
		// Registered before the DNS wait: a client that goes away meanwhile must not crash the process.
		client.on("error", () => client.destroy());
		const refused = await this.resolvedRefusal(`https://${authority}/`);
		if (refused) {
			this.refused++;
			client.end(`HTTP/1.1 403 Forbidden\r\n${REFUSED_HEADER}: ${refused}\r\n\r\n`);
			return;
		}
		if (client.destroyed) return;
		const socket = net.connect({ host: upstream.host, port: upstream.port });
		let established = false;
		let failed = false;
		let answer = Buffer.alloc(0);
		const fail = (code: string) => {
			if (established || failed) return;
			failed = true;
			socket.destroy();
			// Only a code: the upstream's answer could echo the credentials, so nothing of it is passed on.
			client.end(`HTTP/1.1 502 Bad Gateway\r\n${PROXY_ERROR_HEADER}: ${code}\r\n\r\n`);
		};
		socket.setTimeout(UPSTREAM_HANDSHAKE_MILLIS, () => fail("ETIMEDOUT"));
		socket.once("connect", () => {
			const auth = upstream.authorization ? `Proxy-Authorization: ${upstream.authorization}\r\n` : "";
			socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
		});
		const onData = (chunk: Buffer) => {
			answer = Buffer.concat([answer, chunk]);
			const end = answer.indexOf("\r\n\r\n");
			if (end < 0) {
				if (answer.length > MAX_CONNECT_ANSWER_BYTES) fail("UPSTREAM_PROXY_BAD_RESPONSE");
				return;
			}
			// Paused before the listener goes: a flowing socket without a data listener would drop the tunnel's first bytes.
			socket.pause();
			socket.off("data", onData);
			const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, end).toString("latin1"))?.[1];
			if (!status) return fail("UPSTREAM_PROXY_BAD_RESPONSE");
			if (status === "407") return fail("UPSTREAM_PROXY_AUTH_REQUIRED");
			if (!status.startsWith("2")) return fail(`UPSTREAM_PROXY_${status}`);
			established = true;
			socket.setTimeout(0);
			client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
			const rest = answer.subarray(end + 4);
			if (rest.length) client.write(rest);
			if (head.length) socket.write(head);
			socket.pipe(client);
			client.pipe(socket);
		};
		socket.on("data", onData);
		socket.on("error", (err: any) => (established ? client.destroy() : fail(String(err?.code ?? "EPROXY"))));
		// Once established, the pipes carry the end of the tunnel, as for a direct one.
		socket.on("close", () => fail("UPSTREAM_PROXY_CLOSED"));
		client.on("close", () => socket.destroy());
	}
}

/** The upstream's address and `Proxy-Authorization` value. Errors never quote `server`: it may carry credentials. */
function parseUpstream(upstream: UpstreamProxy): { host: string; port: number; authorization?: string } {
	// Playwright reads a bare `host:port` as an http proxy; URL would take `host:` for a scheme.
	const server = /^[a-z][a-z0-9+.-]*:\/\//i.test(upstream.server) ? upstream.server : `http://${upstream.server}`;
	let url: URL;
	try {
		url = new URL(server);
	} catch {
		throw new Error("upstream proxy server is not a valid URL");
	}
	if (url.protocol !== "http:") throw new Error(`only http:// upstream proxies are supported (got ${url.protocol}//)`);
	// Explicit credentials win over ones written into the URL (`http://user:pass@host:port`).
	const username = upstream.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
	const password = upstream.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
	return {
		host: url.hostname.replace(/^\[|\]$/g, ""),
		port: Number(url.port) || 80,
		authorization: username ? `Basic ${Buffer.from(`${username}:${password ?? ""}`).toString("base64")}` : undefined
	};
}
