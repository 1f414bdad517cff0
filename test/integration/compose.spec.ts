import { execFileSync } from "node:child_process";
import path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");

const SECRET = "compose-test-secret-0123456789";

/**
 * `docker compose` (v2 plugin) where present, else Debian's `docker-compose`; both validate without an engine. The
 * compose file requires NIGHTSHIFT_SECRET, as an operator must.
 */
function composeConfig(): string {
	const attempts: [string, string[]][] = [
		["docker", ["compose", "config"]],
		["docker-compose", ["config"]]
	];
	const errors: string[] = [];
	for (const [cmd, args] of attempts) {
		try {
			return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NIGHTSHIFT_SECRET: SECRET } });
		} catch (err: any) {
			errors.push(`${cmd} ${args.join(" ")}: ${String(err.stderr || err.message).trim().split("\n")[0]}`);
		}
	}
	throw new Error(`no compose validator worked:\n${errors.join("\n")}`);
}

describe("docker-compose.yml", () => {
	it("validates and describes NATS, MongoDB, a core node and a scalable browser-pool", () => {
		const config = parse(composeConfig());
		expect(Object.keys(config.services).sort()).toEqual(["browser-pool", "core", "mongo", "nats"]);
		const core = config.services.core;
		const pool = config.services["browser-pool"];
		expect(core.environment).toMatchObject({ TRANSPORTER: "nats://nats:4222", MONGO_URI: expect.stringMatching(/^mongodb:\/\/mongo/) });
		expect(core.environment.SERVICES.split(",")).toEqual(expect.arrayContaining(["api", "scheduler", "profile", "session-manager"]));
		// Every node seals and opens profile state with the same key.
		expect(core.environment.NIGHTSHIFT_SECRET).toBe(SECRET);
		expect(pool.environment.NIGHTSHIFT_SECRET).toBe(SECRET);
		expect(pool.environment.SERVICES.split(",")).toContain("browser-pool");
		expect(pool.environment.TRANSPORTER).toBe("nats://nats:4222");
		// Scaling needs replicas that do not collide: no fixed name, no host port, no fixed node ID.
		expect(pool.container_name).toBeUndefined();
		expect(pool.ports).toBeUndefined();
		expect(pool.environment.NODE_ID).toBeUndefined();
		expect(pool.build).toBeDefined();
		// The core's health check asks the readiness route on the port it listens on.
		expect(core.healthcheck.test.join(" ")).toContain(`127.0.0.1:${core.environment.PORT}/health`);
	});
});
