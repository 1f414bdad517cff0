import dns from "node:dns";
import net from "node:net";
import { UrlNotAllowedError } from "../errors";
import type { UrlGuard } from "./definition";

/** Addresses that answer with cloud credentials: refused whatever the configuration. */
const metadata = new net.BlockList();
metadata.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, AWS/GCP/Azure metadata, ECS task metadata
metadata.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata
metadata.addSubnet("fe80::", 10, "ipv6");
metadata.addAddress("fd00:ec2::254", "ipv6");
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]);

/** Loopback, private, shared and unspecified ranges: refused unless ALLOW_PRIVATE_NETWORKS=true. */
const privateNets = new net.BlockList();
for (const [prefix, bits] of [
	["0.0.0.0", 8],
	["10.0.0.0", 8],
	["100.64.0.0", 10],
	["127.0.0.0", 8],
	["172.16.0.0", 12],
	["192.168.0.0", 16],
	["198.18.0.0", 15]
] as const)
	privateNets.addSubnet(prefix, bits, "ipv4");
privateNets.addAddress("::", "ipv6");
privateNets.addAddress("::1", "ipv6");
privateNets.addSubnet("fc00::", 7, "ipv6");

/**
 * The one URL policy: http/https only, cloud metadata never, private networks only when allowed. Checked on submit
 * (literal addresses and resolved names) and again at connect time through `lookup`, so a redirect or a DNS answer
 * cannot lead a task somewhere the submit check refused.
 */
export class UrlPolicy implements UrlGuard {
	constructor(readonly allowPrivateNetworks: boolean) {}

	/** The reason an address is refused, or null. */
	addressRefusal(address: string): string | null {
		let ip = address.replace(/^\[|\]$/g, "");
		const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
		if (mapped) ip = mapped[1];
		const family = net.isIP(ip) === 6 ? "ipv6" : "ipv4";
		if (metadata.check(ip, family)) return "cloud metadata and link-local addresses are never allowed";
		if (!this.allowPrivateNetworks && privateNets.check(ip, family))
			return "private and loopback addresses are refused (ALLOW_PRIVATE_NETWORKS=false)";
		return null;
	}

	/** Checks what can be told without DNS: scheme, metadata names, literal addresses, `localhost`. */
	check(rawUrl: string): URL {
		let url: URL;
		try {
			url = new URL(rawUrl);
		} catch {
			throw new UrlNotAllowedError(String(rawUrl), "not a valid absolute URL");
		}
		if (url.protocol !== "http:" && url.protocol !== "https:")
			throw new UrlNotAllowedError(rawUrl, `scheme ${url.protocol} is not allowed (http and https only)`);
		// A trailing dot is the same name, fully qualified.
		const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
		if (METADATA_HOSTS.has(host)) throw new UrlNotAllowedError(rawUrl, "cloud metadata hosts are never allowed");
		if (net.isIP(host)) {
			const refusal = this.addressRefusal(host);
			if (refusal) throw new UrlNotAllowedError(rawUrl, refusal);
		} else if (!this.allowPrivateNetworks && (host === "localhost" || host.endsWith(".localhost"))) {
			throw new UrlNotAllowedError(rawUrl, "private and loopback addresses are refused (ALLOW_PRIVATE_NETWORKS=false)");
		}
		return url;
	}

	/** `check`, then every address the name resolves to. A name that does not resolve passes: the attempt fails. */
	async assertAllowed(rawUrl: string): Promise<void> {
		const url = this.check(rawUrl);
		const host = url.hostname.replace(/^\[|\]$/g, "");
		if (net.isIP(host)) return;
		let addresses: dns.LookupAddress[];
		try {
			addresses = await dns.promises.lookup(host, { all: true });
		} catch {
			return;
		}
		for (const { address } of addresses) {
			const refusal = this.addressRefusal(address);
			if (refusal) throw new UrlNotAllowedError(rawUrl, `${host} resolves to ${address}: ${refusal}`);
		}
	}

	readonly lookup = ((hostname: string, options: any, callback: any) => {
		if (typeof options === "function") {
			callback = options;
			options = {};
		}
		dns.lookup(hostname, { ...options, all: true }, (err, addresses: dns.LookupAddress[]) => {
			if (err) return callback(err);
			for (const { address } of addresses) {
				const refusal = this.addressRefusal(address);
				if (refusal) return callback(new UrlNotAllowedError(`//${hostname}`, `${hostname} resolves to ${address}: ${refusal}`));
			}
			if (options.all) return callback(null, addresses);
			callback(null, addresses[0].address, addresses[0].family);
		});
	}) as unknown as typeof dns.lookup;
}
