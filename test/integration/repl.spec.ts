import type { ServiceBroker } from "moleculer";
import { replCommands } from "../../src/repl/commands";
import { configOf } from "../../src/runtime";
import { startBroker, waitFor } from "../helpers/broker";

/** Runs a REPL command's action as moleculer-repl would, and answers what it printed. */
async function run(broker: ServiceBroker, command: string, args: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
	const def = replCommands.find(c => c.command.split(" ")[0] === command)!;
	const out: string[] = [];
	const log = jest.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
	const error = jest.spyOn(console, "error").mockImplementation((...a) => void out.push(a.join(" ")));
	try {
		await def.action(broker, { ...args, options });
	} finally {
		log.mockRestore();
		error.mockRestore();
	}
	return out.join("\n");
}

describe("REPL commands", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		broker = await startBroker({}, ["scheduler", "browser-pool", "profile", "session-manager"]);
	});
	afterAll(() => broker.stop());

	it("submits, lists, shows and cancels tasks, and lists workers and dead letters", async () => {
		const submitted = JSON.parse(await run(broker, "submit", { type: "noop", payload: '{"echo":"repl"}' }, { priority: "9" }));
		expect(submitted).toMatchObject({ status: "queued" });
		await waitFor(async () => (await broker.call<any, any>("scheduler.get", { id: submitted.id })).status === "completed");

		expect(await run(broker, "tasks", {}, { status: "completed" })).toContain(submitted.id);
		expect(JSON.parse(await run(broker, "task", { id: submitted.id }))).toMatchObject({ priority: 9, result: { echo: "repl" } });

		const delayed = await broker.call<any, any>("scheduler.submit", { type: "noop", runAt: new Date(Date.now() + 60000).toISOString() });
		expect(JSON.parse(await run(broker, "cancel", { id: delayed.id }))).toMatchObject({ status: "cancelled" });

		expect(await run(broker, "workers")).toContain(broker.nodeID);
		expect(await run(broker, "dead-letters")).toMatch(/^id\s+type/);
		const { maxBrowsers, maxContextsPerBrowser } = configOf(broker);
		expect(await run(broker, "pool")).toMatch(new RegExp(`${broker.nodeID}\\s+\\(slots\\)\\s+0/${maxBrowsers * maxContextsPerBrowser} busy`));
	});

	it("lists profiles, starts and stops one (source cli), and lists sessions", async () => {
		const profile = await broker.call<any, any>("profile.create", { name: "repl profile" });
		expect(await run(broker, "profiles")).toMatch(new RegExp(`${profile.id}\\s+repl profile\\s+idle`));
		const handle = JSON.parse(await run(broker, "profile-start", { id: profile.id }));
		expect(handle).toMatchObject({ profileId: profile.id, source: "cli" });
		expect(await run(broker, "sessions")).toContain(handle.sessionId);
		expect(await run(broker, "profile-start", { id: profile.id })).toMatch(/^PROFILE_ALREADY_ACTIVE/);
		expect(JSON.parse(await run(broker, "profile-stop", { id: profile.id }))).toMatchObject({ sessionId: handle.sessionId, stateSaved: true });
		expect(await run(broker, "profiles", {}, { status: "running" })).not.toContain(profile.id);
	});

	it("prints input errors by type instead of throwing", async () => {
		expect(await run(broker, "submit", { type: "noop", payload: "{not json" })).toMatch(/^INVALID_JSON/);
		expect(await run(broker, "submit", { type: "nope" })).toMatch(/^UNKNOWN_TASK_TYPE/);
		expect(await run(broker, "task", { id: "missing" })).toMatch(/^TASK_NOT_FOUND/);
		expect(await run(broker, "profile-stop", { id: "missing" })).toMatch(/^PROFILE_NOT_ACTIVE/);
	});
});
