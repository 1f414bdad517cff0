import { execFileSync } from "node:child_process";
import path from "node:path";
import { brokerOptions } from "../../moleculer.config";
import { loadConfig } from "../../src/config";
import { contextId } from "../../src/ids";

describe("context ids", () => {
	it("are unique within a process and differ from another process's, and the broker uses them", () => {
		const ids = Array.from({ length: 10_000 }, contextId);
		expect(new Set(ids).size).toBe(ids.length);
		// A second life of the same node (same node id, counter from zero again) must not reuse an id still in flight.
		const other = execFileSync(process.execPath, ["--import", "tsx", "-e", `import { contextId } from "./src/ids"; console.log(contextId())`], {
			cwd: path.resolve(__dirname, "../.."),
			encoding: "utf8"
		}).trim();
		expect(other).not.toBe(ids[0]);
		expect(other.slice(0, 16)).not.toBe(ids[0].slice(0, 16));
		expect(brokerOptions(loadConfig()).uidGenerator).toBe(contextId);
	});
});
