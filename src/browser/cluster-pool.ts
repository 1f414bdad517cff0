import type { ServiceBroker } from "moleculer";
import { NoBrowserCapacityError } from "../errors";

/** What a `browser-pool` node answered to `browser-pool.slots`, or `null` when it did not answer. */
export interface NodeSlots {
	nodeID: string;
	slots: { free: number; launchError?: string } | null;
}

/**
 * The node to open a browser session on: the one with the most free slots among those whose Chromium starts. Throws
 * NO_BROWSER_CAPACITY (503, retryable) when none can take one, naming why.
 */
export function chooseBrowserNode(nodes: NodeSlots[]): string {
	const usable = nodes.filter(n => n.slots && !n.slots.launchError);
	const best = usable.sort((a, b) => b.slots!.free - a.slots!.free)[0];
	if (best) return best.nodeID;
	const broken = nodes.filter(n => n.slots?.launchError);
	if (broken.length > 0)
		throw new NoBrowserCapacityError(`Chromium does not start on ${broken.map(n => `${n.nodeID} (${n.slots!.launchError})`).join(", ")}`);
	throw new NoBrowserCapacityError("no browser-pool node answered");
}

/** The nodes that run `browser-pool` and are available now, sorted. */
export function browserPoolNodes(broker: ServiceBroker): string[] {
	return [
		...new Set<string>(
			broker.registry
				.getServiceList({ onlyAvailable: true })
				.filter((s: any) => s.name === "browser-pool")
				.map((s: any) => s.nodeID)
		)
	].sort();
}

/** Every `browser-pool` node's status (its `browser-pool.status`), and totals: what `GET /api/pool` and the REPL show. */
export async function clusterPool(broker: ServiceBroker) {
	const nodeIds = browserPoolNodes(broker);
	const nodes: any[] = await Promise.all(
		nodeIds.map(nodeID =>
			broker.call<any, object>("browser-pool.status", {}, { nodeID, timeout: 5000 }).catch((err: Error) => ({ nodeId: nodeID, error: err.message }))
		)
	);
	const sum = (pick: (n: any) => number) => nodes.reduce((total: number, n: any) => total + (n.error ? 0 : pick(n)), 0);
	return {
		totals: {
			nodes: nodes.length,
			browsers: sum(n => n.browsers.length),
			contexts: sum(n => n.browsers.reduce((c: number, b: any) => c + b.contexts, 0)),
			slots: { total: sum(n => n.slots.total), busy: sum(n => n.slots.busy), free: sum(n => n.slots.free), waiting: sum(n => n.slots.waiting) },
			memoryMb: sum(n => n.browsers.reduce((m: number, b: any) => m + (b.memoryMb ?? 0), 0))
		},
		nodes
	};
}
