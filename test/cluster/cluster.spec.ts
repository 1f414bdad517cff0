/**
 * Cluster tests: real OS processes (`tsx src/main.ts`) on the local NATS server, each run in a namespace of its own.
 * Topology: a core (SERVICES=api,scheduler, holding the NeDB store) and browser-pool workers. Everything is observed
 * from outside: the gateway's REST API, the processes' exit codes, and a journal file the `journal` fixture task
 * writes from inside the workers.
 *
 * Needs NATS at nats://127.0.0.1:4222 (NIGHTSHIFT_TEST_NATS overrides). Run: `npx jest test/cluster`.
 */
import fs from "node:fs";
import path from "node:path";
import { destroyAllClusters, TaskView, waitFor, withCluster } from "../helpers/cluster";
import { analyzeJournal, JournalAnalysis, openExecutions, readJournal } from "./journal";

jest.setTimeout(90_000);

afterEach(destroyAllClusters);
afterAll(destroyAllClusters);

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const out: R[] = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) {
				const i = next++;
				out[i] = await fn(items[i]);
			}
		})
	);
	return out;
}

/** The nice values of a process's threads (field 19 of each `/proc/<pid>/task/<tid>/stat`). */
function threadNiceValues(pid: number): Set<number> {
	const values = new Set<number>();
	for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
		const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
		values.add(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
	}
	return values;
}

const outcomes = (t: TaskView) => t.history.map(h => `${h.nodeId}#${h.attempt}:${h.outcome}`).join(", ");

describe("cluster (separate processes on NATS)", () => {
	/**
	 * The scheduler writes a dead worker's leases off when Moleculer reports the node gone (heartbeat timeout, 4-8 s
	 * here) or when the leases expire, whichever comes first. With the default 15 s lease the node-left path wins;
	 * with a 2 s lease the expiry sweep does. Both must lose and duplicate nothing.
	 */
	test.each([
		{ writeOff: "node-left", leaseMillis: 15_000 },
		{ writeOff: "lease-expired", leaseMillis: 2_000 }
	] as const)("kill -9 of a worker mid-run loses and duplicates nothing ($writeOff)", async ({ writeOff, leaseMillis }) => {
		const TASKS = 300;
		const DELAY_MILLIS = 40;
		const CONCURRENCY = 8;
		/** While the victim's death is not yet noticed, the queue is kept at least this long (see below). */
		const TOP_UP_BELOW = 60;
		const TOP_UP_BATCH = 40;
		const VICTIM = "w1";
		const SURVIVOR = "w2";
		let journalFile = "";
		let analysis: JournalAnalysis | null = null;

		await withCluster(
			`kill9-${writeOff}`,
			async cluster => {
				journalFile = path.join(cluster.dir, "journal.log");
				await cluster.startCore({ LEASE_MILLIS: leaseMillis, LOG_LEVEL: "info" });
				cluster.startWorker(VICTIM, { WORKER_CONCURRENCY: CONCURRENCY, LEASE_MILLIS: leaseMillis });
				cluster.startWorker(SURVIVOR, { WORKER_CONCURRENCY: CONCURRENCY, LEASE_MILLIS: leaseMillis });
				const workers = await cluster.waitForWorkers([VICTIM, SURVIVOR]);
				// A formed cluster: the core's broker knows both workers. (A worker killed before that is another
				// case, with its own test below.)
				await cluster.waitForCoreToKnow([VICTIM, SURVIVOR]);
				const victimPid = workers.get(VICTIM)!.pid!;
				// Browser work yields the CPU to the core on a shared machine (WORKER_NICE, default 10): every thread of a
				// worker, none of the core's.
				expect(threadNiceValues(victimPid)).toEqual(new Set([10]));
				expect(threadNiceValues(cluster.core!.child.pid!)).toEqual(new Set([0]));

				const ids: string[] = [];
				const submit = async (n: number) => {
					const answers = await mapLimit(Array.from({ length: n }, (_, i) => i), 16, () =>
						cluster.submit("journal", { journal: journalFile, delayMillis: DELAY_MILLIS })
					);
					ids.push(...answers.map(a => a.id));
				};
				await submit(TASKS);

				// Mid-run: both workers have finished some tasks, and the journal shows the victim inside handlers.
				const before = await waitFor(
					async () => {
						const list = await cluster.workers();
						const victim = list.find(w => w.nodeId === VICTIM);
						const survivor = list.find(w => w.nodeId === SURVIVOR);
						if (!victim || !survivor || victim.processed < 3 || survivor.processed < 3) return null;
						const inside = openExecutions(readJournal(journalFile)).filter(e => e.nodeId === VICTIM).length;
						return inside >= 3 ? { victim, survivor, inside } : null;
					},
					{ timeoutMillis: 20_000, intervalMillis: 10, what: "both workers busy, the victim inside handlers" }
				);
				const { killAt, exit } = await cluster.kill9(VICTIM, victimPid);
				expect(exit.signal === "SIGKILL" || exit.code === 137).toBe(true);
				const completedAtKill = await cluster.count("completed");
				console.log(
					`[${writeOff}] kill -9 ${VICTIM} (pid ${victimPid}): it held ${before.victim.currentTasks.length} leases and was inside ${before.inside} handlers, ` +
						`had processed ${before.victim.processed} (${SURVIVOR}: ${before.survivor.processed}); ${completedAtKill}/${ids.length} completed at the kill`
				);
				expect(completedAtKill).toBeLessThan(ids.length);

				// The survivor alone gets through 300 short tasks long before the victim's death is noticed (heartbeat
				// timeout). Keep it busy until the scheduler has written the victim off, so that a write-off touching
				// anything but the victim's leases (a task of the survivor run twice at once) would show.
				await waitFor(
					async () => {
						if (!(await cluster.workers()).some(w => w.nodeId === VICTIM)) return true;
						if ((await cluster.count("queued")) < TOP_UP_BELOW) await submit(TOP_UP_BATCH);
						return false;
					},
					{ timeoutMillis: 30_000, intervalMillis: 20, what: `the scheduler to drop ${VICTIM} from its workers` }
				);
				const total = ids.length;
				expect(new Set(ids).size).toBe(total);

				// Every task completes, on the survivor from now on; none fails or is cancelled.
				const doneAt = await waitFor(
					async () => {
						const [completed, failed, cancelled] = await Promise.all(
							["completed", "failed", "cancelled"].map(s => cluster.count(s))
						);
						if (failed + cancelled > 0) throw new Error(`${failed} failed and ${cancelled} cancelled tasks`);
						return completed === total ? Date.now() : 0;
					},
					{ timeoutMillis: 45_000, intervalMillis: 200, what: `all ${total} tasks completed` }
				).catch(async err => {
					const [c, q, r] = await Promise.all(["completed", "queued", "running"].map(s => cluster.count(s)));
					throw new Error(`${err.message} (completed ${c}, queued ${q}, running ${r})`);
				});
				console.log(`all ${total} tasks (${TASKS} + ${total - TASKS} topped up) completed ${doneAt - killAt} ms after the kill`);

				const tasks = await mapLimit(ids, 16, id => cluster.task(id));

				// Store: one completion each, and only the victim's attempts were lost.
				const problems: string[] = [];
				const held = new Set<string>();
				for (const t of tasks) {
					if (t.status !== "completed") problems.push(`${t.id}: status ${t.status}`);
					const completed = t.history.filter(h => h.outcome === "completed");
					if (completed.length !== 1) problems.push(`${t.id}: ${completed.length} completed attempts [${outcomes(t)}]`);
					for (const h of t.history) {
						if (h.outcome === "completed") continue;
						if (h.nodeId === VICTIM && h.outcome === writeOff) held.add(t.id);
						else problems.push(`${t.id}: unexpected attempt ${h.nodeId}#${h.attempt} ${h.outcome} [${outcomes(t)}]`);
					}
					if (held.has(t.id)) {
						if (completed[0]?.nodeId !== SURVIVOR) problems.push(`${t.id}: held by the victim, completed by ${completed[0]?.nodeId}`);
						if (t.history[t.history.length - 1]?.outcome !== "completed") problems.push(`${t.id}: last attempt is not the completion [${outcomes(t)}]`);
					}
				}
				expect(problems).toEqual([]);
				// The victim was running tasks when it died: they must show up as lost leases.
				expect(held.size).toBeGreaterThan(0);

				// Journal: nothing lost, no two live executions of one task at the same time.
				analysis = analyzeJournal(readJournal(journalFile), { nodeId: VICTIM, at: killAt, exitAt: exit.at });
				const a = analysis;
				expect(a.violations).toEqual([]);
				// No attempt was stopped by its signal: nobody lost a lease but the victim, which died instead.
				expect(a.executions.filter(e => e.aborted).map(e => `${e.taskId} on ${e.nodeId}#${e.attempt}`)).toEqual([]);
				const journaled = new Set(a.executions.map(e => e.taskId));
				expect(ids.filter(id => !journaled.has(id))).toEqual([]);
				// The completion the store recorded is an execution that ran to its end on that node.
				const ended = new Set(a.executions.filter(e => e.endLine !== null && !e.aborted).map(e => `${e.taskId} ${e.nodeId} ${e.attempt}`));
				const unbacked = tasks
					.map(t => `${t.id} ${t.history.find(h => h.outcome === "completed")!.nodeId} ${t.history.find(h => h.outcome === "completed")!.attempt}`)
					.filter(key => !ended.has(key));
				expect(unbacked).toEqual([]);
				// Executions the kill cut short are exactly attempts the scheduler wrote off as the victim's.
				expect([...a.cutShort].filter(id => !held.has(id))).toEqual([]);
				expect(a.cutShort.size).toBeGreaterThan(0);

				// Only what the victim held ran twice: once cut short (or unreported) there, once on the survivor.
				const runs = new Map<string, string[]>();
				for (const e of a.executions) runs.set(e.taskId, [...(runs.get(e.taskId) ?? []), e.nodeId]);
				const extra = [...runs]
					.filter(([id, nodes]) =>
						held.has(id)
							? nodes.filter(n => n === SURVIVOR).length !== 1 || nodes.filter(n => n === VICTIM).length > 1
							: nodes.length !== 1
					)
					.map(([id, nodes]) => `${id}${held.has(id) ? " (held)" : ""}: ran on ${nodes.join(", ")}`);
				expect(extra).toEqual([]);

				// Re-runs of what the victim held happen on the survivor, after the kill.
				const reruns = [...held].map(id => a.executions.find(e => e.taskId === id && e.nodeId === SURVIVOR && e.startAt >= killAt));
				expect([...held].filter((_, i) => !reruns[i])).toEqual([]);
				const firstRerun = reruns.reduce((x, y) => (y!.startLine < x!.startLine ? y : x))!;
				const latencies = reruns.map(r => r!.startAt - killAt).sort((x, y) => x - y);
				// The test only means something if the survivor was busy with other tasks while the victim was being
				// written off (between the kill and the first re-run). Its slots refill in batches, so "at the instant of
				// the first re-run" could fall between two batches.
				const survivorBusy = a.executions.filter(
					e => e.nodeId === SURVIVOR && !held.has(e.taskId) && e.startAt >= killAt && e.startLine < firstRerun.startLine
				).length;
				const victimRanToEnd = [...held].filter(id =>
					a.executions.some(e => e.taskId === id && e.nodeId === VICTIM && e.endLine !== null && !e.aborted)
				).length;
				console.log(
					`[${writeOff}] kill → first re-run start of a killed task: ${latencies[0]} ms (last: ${latencies[latencies.length - 1]} ms); ` +
						`${held.size} tasks written off as ${VICTIM}'s (${a.cutShort.size} cut short mid-execution, ` +
						`${victimRanToEnd} ran to their end on ${VICTIM} before their result reached the scheduler); ` +
						`${SURVIVOR} started ${survivorBusy} other tasks between the kill and the first re-run; ` +
						`${a.executions.length} executions for ${total} tasks`
				);
				expect(survivorBusy).toBeGreaterThan(0);
			},
			() => {
				const lines = readJournal(journalFile);
				const v = analysis?.violations.slice(0, 20).join("\n") ?? "";
				return `journal ${journalFile}: ${lines.length} lines${v ? `\nviolations:\n${v}` : ""}`;
			}
		);
	});

	/**
	 * A worker leases work as soon as it knows the scheduler, but the core's broker only registers the worker when the
	 * worker's INFO packet arrives, which Moleculer sends debounced (`transit.serviceChangedDebounceTime`, 1 s by
	 * default) after the worker's services start. A worker that dies inside that window is never "disconnected" for
	 * the core, so `nodeLeft` never runs and its tasks wait for lease expiry instead of the heartbeat timeout.
	 */
	test("a worker killed right after joining is written off as node-left within the heartbeat timeout", async () => {
		const LEASE_MILLIS = 30_000; // long enough that expiry cannot stand in for the node-left write-off
		const WRITE_OFF_WITHIN = 12_000; // heartbeat timeout 4 s, checked every 4 s: at most ~9 s, with slack
		await withCluster("kill9-joining", async cluster => {
			await cluster.startCore({ LEASE_MILLIS, LOG_LEVEL: "info" });
			// Queued before the worker exists: it leases them with its very first call.
			const ids = await Promise.all([1, 2].map(() => cluster.submit("noop", { delayMillis: 60_000 }).then(s => s.id)));
			const w1 = cluster.startWorker("w1", { WORKER_CONCURRENCY: 2, LEASE_MILLIS });
			const pid = (
				await waitFor(
					async () => {
						if (!w1.running) throw new Error(`w1 exited (${JSON.stringify(w1.exit)})`);
						const tasks = await Promise.all(ids.map(id => cluster.task(id)));
						if (!tasks.every(t => t.status === "running" && t.nodeId === "w1")) return null;
						return (await cluster.workers()).find(w => w.nodeId === "w1" && w.pid);
					},
					{ timeoutMillis: 30_000, intervalMillis: 20, what: "w1 running both tasks" }
				)
			).pid!;
			const coreKnewW1 = cluster.core!.printed(/Node 'w1' connected/);
			const { killAt } = await cluster.kill9("w1", pid);
			console.log(`kill -9 w1 right after it leased its first tasks; the core's broker had ${coreKnewW1 ? "already" : "NOT yet"} registered w1`);

			const requeued = await waitFor(
				async () => {
					const tasks = await Promise.all(ids.map(id => cluster.task(id)));
					return tasks.every(t => t.status !== "running") ? tasks : null;
				},
				{ timeoutMillis: WRITE_OFF_WITHIN, intervalMillis: 100, what: `w1's tasks to leave "running" after its kill -9` }
			).catch(err => {
				throw new Error(
					`${err.message}. The core's broker ${cluster.core!.printed(/Node 'w1' connected/) ? "registered" : "never registered"} w1 ` +
						`and ${cluster.core!.printed(/Node 'w1' disconnected/) ? "saw" : "never saw"} it disconnect; its leases wait for expiry (${LEASE_MILLIS} ms)`
				);
			});
			console.log(`w1's tasks written off ${Date.now() - killAt} ms after the kill`);
			for (const t of requeued) {
				expect({ status: t.status, attempts: t.attempts }).toEqual({ status: "queued", attempts: 1 });
				expect(t.history.map(h => `${h.nodeId}#${h.attempt}:${h.outcome}`)).toEqual(["w1#1:node-left"]);
			}
		});
	});

	describe("SIGTERM drains", () => {
		/** Short leases: an attempt whose lease is not kept renewed (while it runs, or while its worker drains) expires. */
		const LEASE = { LEASE_MILLIS: 2000 };
		test("running tasks past the grace period are handed back without spending an attempt, and complete elsewhere", async () => {
			const GRACE = 500;
			const LONG = 10_000;
			await withCluster("drain-handback", async cluster => {
				await cluster.startCore(LEASE);
				const draining = cluster.startWorker("w1", { ...LEASE, WORKER_CONCURRENCY: 2, SHUTDOWN_GRACE_MILLIS: GRACE });
				const w1Pid = (await cluster.waitForWorkers(["w1"])).get("w1")!.pid!;

				const ids = await Promise.all([1, 2].map(() => cluster.submit("noop", { delayMillis: LONG }).then(s => s.id)));
				await waitFor(
					async () => {
						const tasks = await Promise.all(ids.map(id => cluster.task(id)));
						return tasks.every(t => t.status === "running" && t.nodeId === "w1");
					},
					{ timeoutMillis: 15_000, intervalMillis: 50, what: "both tasks running on w1" }
				);

				expect(draining.owns(w1Pid)).toBe(true);
				const termAt = Date.now();
				process.kill(w1Pid, "SIGTERM");
				const exit = await draining.exited;
				const tookMillis = exit.at - termAt;
				console.log(`w1 exited ${tookMillis} ms after SIGTERM (grace ${GRACE} ms), code ${exit.code} signal ${exit.signal}`);
				expect(exit).toMatchObject({ code: 0, signal: null });
				// It did not wait for the 10 s tasks.
				expect(tookMillis).toBeLessThan(LONG - 2000);

				// Back in the queue: the attempt recorded as handed back, and not counted.
				for (const id of ids) {
					const t = await cluster.task(id);
					expect({ status: t.status, attempts: t.attempts }).toEqual({ status: "queued", attempts: 0 });
					expect(t.history.map(h => ({ nodeId: h.nodeId, attempt: h.attempt, outcome: h.outcome }))).toEqual([
						{ nodeId: "w1", attempt: 1, outcome: "handed-back" }
					]);
				}

				// Another worker picks them up and completes them as their first counted attempt.
				cluster.startWorker("w2", { ...LEASE, WORKER_CONCURRENCY: 2 });
				await waitFor(
					async () => (await Promise.all(ids.map(id => cluster.task(id)))).every(t => t.status === "completed"),
					{ timeoutMillis: LONG + 20_000, intervalMillis: 200, what: "both tasks completed on w2" }
				);
				for (const id of ids) {
					const t = await cluster.task(id);
					expect({ status: t.status, attempts: t.attempts, nodeId: t.nodeId }).toEqual({ status: "completed", attempts: 1, nodeId: "w2" });
					expect(t.result).toMatchObject({ attempt: 1, nodeId: "w2" });
					expect(t.history.map(h => ({ nodeId: h.nodeId, attempt: h.attempt, outcome: h.outcome }))).toEqual([
						{ nodeId: "w1", attempt: 1, outcome: "handed-back" },
						{ nodeId: "w2", attempt: 1, outcome: "completed" }
					]);
				}
			});
		});

		test("with another worker present, handed-back tasks move to it and never run on both at once", async () => {
			const GRACE = 500;
			const TASKS = 20;
			// Long enough for w2 to start and be known to the core while w1's tasks still run: on a loaded machine that
			// took over 3.5 s (with 4 s tasks, w1 then finished them itself before its SIGTERM).
			const TASK_MILLIS = 8000;
			let journalFile = "";
			let analysis: JournalAnalysis | null = null;
			await withCluster(
				"drain-present",
				async cluster => {
					journalFile = path.join(cluster.dir, "journal.log");
					await cluster.startCore({ ...LEASE, LOG_LEVEL: "info" });
					const draining = cluster.startWorker("w1", { ...LEASE, WORKER_CONCURRENCY: TASKS, SHUTDOWN_GRACE_MILLIS: GRACE });
					const w1Pid = (await cluster.waitForWorkers(["w1"])).get("w1")!.pid!;
					const ids = await mapLimit(Array.from({ length: TASKS }, (_, i) => i), TASKS, () =>
						cluster.submit("journal", { journal: journalFile, delayMillis: TASK_MILLIS }).then(s => s.id)
					);
					await waitFor(
						async () => (await Promise.all(ids.map(id => cluster.task(id)))).every(t => t.status === "running" && t.nodeId === "w1"),
						{ timeoutMillis: 15_000, intervalMillis: 50, what: `all ${TASKS} tasks running on w1` }
					);
					// w2 joins with room for all of them, and idles (nothing is queued). Once the core's broker knows it, the
					// scheduler's work-available broadcast reaches it: it leases a handed-back task the moment it is queued.
					cluster.startWorker("w2", { ...LEASE, WORKER_CONCURRENCY: TASKS });
					await cluster.waitForWorkers(["w1", "w2"]);
					await cluster.waitForCoreToKnow(["w1", "w2"]);
					// The test's premise: the SIGTERM finds w1 inside every task.
					expect((await Promise.all(ids.map(id => cluster.task(id)))).filter(t => t.status !== "running")).toEqual([]);

					expect(draining.owns(w1Pid)).toBe(true);
					const termAt = Date.now();
					process.kill(w1Pid, "SIGTERM");
					const exit = await draining.exited;
					console.log(`w1 exited ${exit.at - termAt} ms after SIGTERM (grace ${GRACE} ms), code ${exit.code} signal ${exit.signal}`);
					expect(exit).toMatchObject({ code: 0, signal: null });

					const tasks = await waitFor(
						async () => {
							const all = await Promise.all(ids.map(id => cluster.task(id)));
							return all.every(t => t.status === "completed") ? all : null;
						},
						{ timeoutMillis: TASK_MILLIS + 20_000, intervalMillis: 100, what: "all tasks completed on w2" }
					);
					for (const t of tasks) {
						expect({ id: t.id, attempts: t.attempts, nodeId: t.nodeId }).toEqual({ id: t.id, attempts: 1, nodeId: "w2" });
						expect(t.history.map(h => `${h.nodeId}#${h.attempt}:${h.outcome}`)).toEqual(["w1#1:handed-back", "w2#1:completed"]);
					}

					// The journal: w1's executions were stopped (abort) before w2 started the same task.
					analysis = analyzeJournal(readJournal(journalFile));
					const a = analysis;
					const runs = (id: string) => a.executions.filter(e => e.taskId === id).map(e => `${e.nodeId}#${e.attempt}:${e.aborted ? "aborted" : e.endLine ? "ended" : "open"}`);
					expect(Object.fromEntries(ids.map(id => [id, runs(id)]))).toEqual(
						Object.fromEntries(ids.map(id => [id, ["w1#1:aborted", "w2#1:ended"]]))
					);
					expect(a.violations).toEqual([]);
					const gaps = ids.map(id => {
						const [first, second] = a.executions.filter(e => e.taskId === id);
						return `${second.startLine - first.endLine!} lines/${second.startAt - first.endAt!} ms`;
					});
					console.log(`w1 abort → w2 start, per task: ${gaps.join(", ")}`);
				},
				() => {
					const text = journalFile ? readJournal(journalFile).map(l => `${l.kind} ${l.taskId} ${l.nodeId}#${l.attempt} ${l.at}`).join("\n") : "";
					const v = analysis?.violations.join("\n") ?? "";
					return `journal:\n${text}${v ? `\nviolations:\n${v}` : ""}`;
				}
			);
		});

		test("a running task that ends within the grace period completes on the draining worker, which leases nothing new", async () => {
			const GRACE = 8000;
			const TASK_MILLIS = 3000; // longer than the lease: it must be renewed while w1 drains
			await withCluster("drain-finish", async cluster => {
				await cluster.startCore(LEASE);
				const draining = cluster.startWorker("w1", { ...LEASE, WORKER_CONCURRENCY: 1, SHUTDOWN_GRACE_MILLIS: GRACE });
				const w1Pid = (await cluster.waitForWorkers(["w1"])).get("w1")!.pid!;

				const first = (await cluster.submit("noop", { delayMillis: TASK_MILLIS })).id;
				await waitFor(async () => (await cluster.task(first)).status === "running", {
					timeoutMillis: 15_000,
					intervalMillis: 20,
					what: "the task running on w1"
				});
				// Queued behind it (w1 has one slot): a draining worker must not take it.
				const second = (await cluster.submit("noop", { delayMillis: 10 })).id;

				expect(draining.owns(w1Pid)).toBe(true);
				const termAt = Date.now();
				process.kill(w1Pid, "SIGTERM");
				const exit = await draining.exited;
				console.log(`w1 exited ${exit.at - termAt} ms after SIGTERM (task of ${TASK_MILLIS} ms, grace ${GRACE} ms)`);
				expect(exit).toMatchObject({ code: 0, signal: null });

				const done = await cluster.task(first);
				expect({ status: done.status, attempts: done.attempts, nodeId: done.nodeId }).toEqual({
					status: "completed",
					attempts: 1,
					nodeId: "w1"
				});
				expect(done.history.map(h => ({ nodeId: h.nodeId, attempt: h.attempt, outcome: h.outcome }))).toEqual([
					{ nodeId: "w1", attempt: 1, outcome: "completed" }
				]);
				// The worker stayed until its task was done and reported.
				expect(Date.parse(done.finishedAt!)).toBeLessThanOrEqual(exit.at);

				const waiting = await cluster.task(second);
				expect({ status: waiting.status, attempts: waiting.attempts, history: waiting.history }).toEqual({
					status: "queued",
					attempts: 0,
					history: []
				});

				cluster.startWorker("w2", { ...LEASE, WORKER_CONCURRENCY: 1 });
				const later = await waitFor(
					async () => {
						const t = await cluster.task(second);
						return t.status === "completed" ? t : null;
					},
					{ timeoutMillis: 30_000, intervalMillis: 100, what: "the queued task completed on w2" }
				);
				expect(later.history.map(h => ({ nodeId: h.nodeId, attempt: h.attempt, outcome: h.outcome }))).toEqual([
					{ nodeId: "w2", attempt: 1, outcome: "completed" }
				]);
			});
		});
	});
});
