import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { UrlPolicy } from "../tasks/url-policy";

/** Header on the proxy's refusal answers, so a handler can tell a refused navigation from a real 403. */
export const REFUSED_HEADER = "x-nightshift-refused";
/** Header on the proxy's 502 answers: the socket error (ENOTFOUND, ECONNREFUSED…) that prevented the request. */
export const PROXY_ERROR_HEADER = "x-nightshift-proxy-error";

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
	/** Requests and tunnels refused since start. */
	refused = 0;

	constructor(private readonly policy: UrlPolicy) {
		this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, lookup: policy.lookup } as http.AgentOptions);
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
}
