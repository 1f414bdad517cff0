import type { Middleware, ServiceBroker } from "moleculer";

/**
 * Before any service stops (SIGTERM, SIGINT, broker.stop()), lets every local service with a `drain()` method finish
 * its work: Moleculer stops services in parallel, so a worker draining in its own `stopped` could find the local
 * scheduler already gone.
 */
export function DrainMiddleware(): Middleware {
	return {
		name: "Drain",
		async stopping(broker: ServiceBroker) {
			await Promise.all(
				broker.services.map(svc => (typeof (svc as any).drain === "function" ? (svc as any).drain() : undefined))
			);
		}
	} as Middleware;
}
