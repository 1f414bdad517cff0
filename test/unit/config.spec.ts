import fs from "node:fs";
import path from "node:path";
import { CONFIG_SCHEMA, loadConfig } from "../../src/config";

describe("config", () => {
	it("has a default for everything and reads env overrides", () => {
		const config = loadConfig({ PORT: "4000", ALLOW_PRIVATE_NETWORKS: "true", SERVICES: "api, scheduler" });
		expect(config.port).toBe(4000);
		expect(config.allowPrivateNetworks).toBe(true);
		expect(config.services).toEqual(["api", "scheduler"]);
		expect(loadConfig({}).leaseMillis).toBe(CONFIG_SCHEMA.leaseMillis.default);
	});

	it("refuses bad values with the variable's name", () => {
		expect(() => loadConfig({ PORT: "http" })).toThrow(/PORT/);
		expect(() => loadConfig({ ALLOW_PRIVATE_NETWORKS: "maybe" })).toThrow(/ALLOW_PRIVATE_NETWORKS/);
		// Durations become timers, and Node cannot keep one longer than 2^31 - 1 ms: it would fire at once, in a loop.
		expect(() => loadConfig({ LEASE_MILLIS: String(2 ** 31) })).toThrow(/LEASE_MILLIS must be an integer from 1000 to 2147483647/);
		expect(() => loadConfig({ BROWSER_IDLE_SECS: "2147484" })).toThrow(/BROWSER_IDLE_SECS/);
		expect(loadConfig({ SHUTDOWN_GRACE_MILLIS: String(2 ** 31 - 1) }).shutdownGraceMillis).toBe(2 ** 31 - 1);
	});

	it("requires API keys on a non-loopback address", () => {
		expect(() => loadConfig({ HOST: "0.0.0.0" })).toThrow(/API_KEYS/);
		expect(loadConfig({ HOST: "0.0.0.0", API_KEYS: "k1,k2" }).apiKeys).toEqual(["k1", "k2"]);
	});

	it("is documented: every variable is in the README's configuration table", () => {
		const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
		for (const opt of Object.values(CONFIG_SCHEMA)) expect(readme).toContain(`| \`${opt.env}\``);
	});
});
