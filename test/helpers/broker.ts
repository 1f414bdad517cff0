import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { SERVICE_SCHEMAS } from "../../services";
import { Config, loadConfig } from "../../src/config";
import { IN_MEMORY } from "../../src/store";
import { waitFor as poll } from "./wait";

/** A config for tests: in-memory NeDB, no transporter, a free port, private networks allowed, quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
	return loadConfig(
		{},
		{
			nodeID: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
			dataDir: IN_MEMORY,
			port: 0,
			logLevel: "silent",
			allowPrivateNetworks: true,
			// Chromium starts on first use: most suites never open a browser.
			warmContexts: 0,
			...overrides
		}
	);
}

/** A broker running the named services (all by default) with the test config. Call `broker.stop()` after. */
export async function startBroker(overrides: Partial<Config> = {}, services?: string[]): Promise<ServiceBroker> {
	const config = testConfig(overrides);
	const broker = new ServiceBroker(brokerOptions(config));
	for (const name of services ?? config.services) broker.createService(SERVICE_SCHEMAS[name]);
	await broker.start();
	return broker;
}

/** Base URL of the gateway of a broker started with `port: 0`. */
export function gatewayUrl(broker: ServiceBroker): string {
	const address = (broker.getLocalService("api") as any).server.address();
	return `http://127.0.0.1:${address.port}`;
}

/** Polls `probe` every 10 ms until it returns a truthy value, or fails after `timeoutMillis`. */
export function waitFor<T>(probe: () => Promise<T> | T, timeoutMillis = 10000, what = "condition") {
	return poll(probe, { timeoutMillis, intervalMillis: 10, what });
}
