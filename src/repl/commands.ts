import type { ServiceBroker } from "moleculer";
import { clusterPool } from "../browser/cluster-pool";

/** Runs a REPL command's work; errors print as `type: message` instead of a stack. */
async function guarded(broker: ServiceBroker, work: () => Promise<void>): Promise<void> {
	try {
		await work();
	} catch (err: any) {
		console.error(`${err?.type ?? "ERROR"}: ${err?.message ?? err}`);
		broker.logger.debug(err);
	}
}

/** Prints what `work` answers as JSON. */
function show(broker: ServiceBroker, work: () => Promise<unknown>): Promise<void> {
	return guarded(broker, async () => console.log(JSON.stringify(await work(), null, 2)));
}

/** A page of a listing (`{items, total}`) as a table and a count. */
function printPage(page: { items: Record<string, unknown>[]; total: number }, columns: string[]): void {
	console.log(table(page.items, columns));
	console.log(`${page.items.length} of ${page.total}`);
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
	const cells = rows.map(r => columns.map(c => String(r[c] ?? "")));
	const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(row => row[i].length)));
	const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ");
	return [line(columns), ...cells.map(line)].join("\n");
}

/** moleculer-repl custom commands (`npm run repl`). */
export const replCommands = [
	{
		command: "tasks",
		description: "List tasks (newest first)",
		options: [
			{ option: "-s, --status <status>", description: "queued, running, completed, failed or cancelled" },
			{ option: "-t, --type <type>", description: "task type" },
			{ option: "-l, --limit <n>", description: "how many (default 20)" }
		],
		async action(broker: ServiceBroker, args: any) {
			const { status, type, limit } = args.options;
			await guarded(broker, async () => {
				const page: any = await broker.call("scheduler.list", { status, type, limit: Number(limit ?? 20), result: false });
				printPage(page, ["id", "type", "status", "priority", "attempts", "progress", "createdAt"]);
			});
		}
	},
	{
		command: "task <id>",
		description: "Show one task with its attempts and log",
		async action(broker: ServiceBroker, args: any) {
			await show(broker, () => broker.call("scheduler.get", { id: args.id }));
		}
	},
	{
		command: "submit <type> [payload]",
		description: "Submit a task: submit http.check '{\"url\":\"https://example.org\"}'",
		options: [
			{ option: "-p, --priority <n>", description: "1–10 (default 5)" },
			{ option: "-k, --key <key>", description: "per-key FIFO key" }
		],
		async action(broker: ServiceBroker, args: any) {
			await show(broker, async () => {
				let payload: unknown = {};
				if (args.payload) {
					try {
						payload = JSON.parse(args.payload);
					} catch {
						throw Object.assign(new Error("payload is not valid JSON"), { type: "INVALID_JSON" });
					}
				}
				const { priority, key } = args.options;
				return broker.call("scheduler.submit", {
					type: args.type,
					payload,
					...(priority ? { priority: Number(priority) } : {}),
					...(key ? { key } : {})
				});
			});
		}
	},
	{
		command: "cancel <id>",
		description: "Cancel a queued or running task",
		async action(broker: ServiceBroker, args: any) {
			await show(broker, () => broker.call("scheduler.cancel", { id: args.id, reason: "cancelled from the REPL" }));
		}
	},
	{
		command: "workers",
		description: "List live workers",
		async action(broker: ServiceBroker) {
			await guarded(broker, async () => {
				const workers: any[] = await broker.call("scheduler.workers");
				console.log(
					table(
						workers.map(w => ({ ...w, currentTasks: w.currentTasks.length })),
						["nodeId", "concurrency", "currentTasks", "processed", "lastHeartbeat", "accepting"]
					)
				);
			});
		}
	},
	{
		command: "dead-letters",
		description: "List tasks that failed for good",
		async action(broker: ServiceBroker) {
			await guarded(broker, async () => {
				const page: any = await broker.call("scheduler.deadLetters", { limit: 50 });
				console.log(
					table(
						page.items.map((t: any) => ({ ...t, error: t.error?.message })),
						["id", "type", "attempts", "finishedAt", "error"]
					)
				);
			});
		}
	},
	{
		command: "pool",
		description: "Browsers and slots of every browser-pool node",
		async action(broker: ServiceBroker) {
			await guarded(broker, async () => {
				const pool = await clusterPool(broker);
				console.log(
					table(
						pool.nodes.flatMap((n: any) =>
							n.error
								? [{ node: n.nodeId, browser: `error: ${n.error}` }]
								: [
										{ node: n.nodeId, browser: "(slots)", contexts: `${n.slots.busy}/${n.slots.total} busy`, waiting: n.slots.waiting },
										...n.browsers.map((b: any) => ({ node: n.nodeId, browser: b.pid, contexts: b.contexts, sessions: b.sessionsServed, memoryMb: b.memoryMb }))
									]
						),
						["node", "browser", "contexts", "waiting", "sessions", "memoryMb"]
					)
				);
			});
		}
	},
	{
		command: "profiles",
		description: "List browser profiles (most recently used first)",
		options: [
			{ option: "-g, --group <id>", description: "group id" },
			{ option: "-s, --status <status>", description: "idle, running or disabled" }
		],
		async action(broker: ServiceBroker, args: any) {
			await guarded(broker, async () => {
				const page: any = await broker.call("profile.list", { groupId: args.options.group, status: args.options.status, limit: 100 });
				printPage(page, ["id", "name", "status", "groupId", "lastUsedAt", "updatedAt"]);
			});
		}
	},
	{
		command: "profile-start <id>",
		description: "Start a profile's browser session (source: cli)",
		async action(broker: ServiceBroker, args: any) {
			await show(broker, () => broker.call("session-manager.start", { id: args.id, source: "cli" }));
		}
	},
	{
		command: "profile-stop <id>",
		description: "Stop a profile's session, saving its cookies and localStorage",
		async action(broker: ServiceBroker, args: any) {
			await show(broker, () => broker.call("session-manager.stop", { id: args.id }));
		}
	},
	{
		command: "sessions",
		description: "Live profile sessions across the cluster",
		async action(broker: ServiceBroker) {
			await guarded(broker, async () => {
				const sessions: any[] = await broker.call("session-manager.list");
				console.log(table(sessions, ["sessionId", "profileId", "nodeId", "source", "startedAt", "lastActivityAt", "url"]));
			});
		}
	}
];
