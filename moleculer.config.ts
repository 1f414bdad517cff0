import type { BrokerOptions } from "moleculer";
import { Config, loadConfig } from "./src/config";
import { DrainMiddleware } from "./src/middlewares/drain.middleware";
import { replCommands } from "./src/repl/commands";
import { contextId } from "./src/ids";
import { VALIDATOR_OPTIONS } from "./src/validation";

/**
 * Broker options from the typed config. Every value comes from `src/config.ts` (env-overridable); no secrets here.
 * `nightshift` carries the config to the services (see src/runtime.ts).
 */
export function brokerOptions(config: Config): BrokerOptions & { nightshift: Config } {
	return {
		namespace: config.namespace,
		nodeID: config.nodeID,
		transporter: config.transporter || null,
		logger: config.logLevel === "silent" ? false : { type: "Console", options: { level: config.logLevel, formatter: "short" } },
		// Calls fail fast rather than pile up; dispatch calls additionally pass `retries: 0`.
		requestTimeout: config.requestTimeoutMillis,
		retryPolicy: { enabled: false },
		// Short heartbeats: a killed node is noticed in a few seconds and its leases handed back at once.
		heartbeatInterval: config.clusterHeartbeatSecs,
		heartbeatTimeout: config.clusterHeartbeatTimeoutSecs,
		registry: { strategy: "RoundRobin", preferLocal: true },
		// Announce services at once: a worker leases as soon as it sees the scheduler and must be known to the
		// scheduler's broker by then, or `$node.disconnected` never fires for it if it dies within the debounce.
		transit: { serviceChangedDebounceTime: 0 },
		validator: { type: "Fastest", options: VALIDATOR_OPTIONS },
		uidGenerator: contextId,
		middlewares: [DrainMiddleware()],
		replOptions: { delimiter: "nightshift $", customCommands: replCommands },
		// main.ts handles SIGTERM/SIGINT itself so the exit code and the drain are under its control.
		skipProcessEventRegistration: true,
		nightshift: config
	} as BrokerOptions & { nightshift: Config };
}

/**
 * For moleculer-runner, which calls a config module that is a function. Read when used, not when imported: a bad
 * value is then reported by whoever starts the broker (main.ts prints the message alone, without a stack).
 */
export default () => brokerOptions(loadConfig());
