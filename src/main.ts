import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { SERVICE_SCHEMAS } from "../services";
import { loadConfig } from "./config";
import { isBackgroundNode, lowerCpuPriority } from "./cpu-priority";

/** Starts a broker with the services `SERVICES` names; `--repl` opens the REPL on it. */
async function main(): Promise<void> {
	const config = loadConfig();
	const unknown = config.services.filter(name => !SERVICE_SCHEMAS[name]);
	if (unknown.length > 0)
		throw new Error(`SERVICES names unknown services: ${unknown.join(", ")} (known: ${Object.keys(SERVICE_SCHEMAS).join(", ")})`);
	// Before the broker starts its Chromium: the browsers inherit the priority.
	if (config.workerNice > 0 && isBackgroundNode(config.services)) lowerCpuPriority(config.workerNice);
	const broker = new ServiceBroker(brokerOptions(config));
	for (const name of config.services) broker.createService(SERVICE_SCHEMAS[name]);

	const starting = broker.start();
	let stopping = false;
	let started = false;
	const stop = (signal: string) => {
		if (stopping) return;
		stopping = true;
		// Stopping services that are still starting leaves the late ones running with nothing stopping them: the start
		// ends first (at most the browser launch deadline).
		broker.logger.info(started ? `${signal}: draining and stopping` : `${signal}: stopping once started`);
		starting
			.catch(() => undefined)
			.then(() => broker.stop())
			.then(
				() => process.exit(0),
				err => {
					broker.logger.error("stop failed", err);
					process.exit(1);
				}
			);
	};
	process.on("SIGTERM", () => stop("SIGTERM"));
	process.on("SIGINT", () => stop("SIGINT"));

	await starting;
	started = true;
	if (stopping) return;
	if (process.argv.includes("--repl")) broker.repl();
	else if (config.services.includes("api"))
		broker.logger.info(`gateway on http://${config.host}:${(broker.getLocalService("api") as any).server.address().port}`);
}

main().catch(err => {
	console.error(err?.message ?? err);
	process.exit(1);
});
