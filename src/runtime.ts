import type { ServiceBroker } from "moleculer";
import type { Config } from "./config";

/** The typed configuration a broker was created with (main.ts and tests put it in the broker options). */
export function configOf(broker: ServiceBroker): Config {
	const config = (broker.options as { nightshift?: Config }).nightshift;
	if (!config) throw new Error("broker options lack `nightshift` (use brokerOptions(config) from moleculer.config)");
	return config;
}
