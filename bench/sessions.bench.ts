/**
 * Profile session benchmark (issue 4): `npm run bench:sessions`.
 *
 * One embedded node (every service, NeDB files, Chromium warm) as a child process, driven over HTTP like a user would.
 * Every profile carries 50 cookies and 5 origins of localStorage (10 items each). Measured as HTTP round trips:
 *   - start → stop one profile at a time: start p50/p99 and stop-with-save p50/p99, for profiles without a fingerprint
 *     (a prepared context serves them) and with one (a context of their own is created);
 *   - stop after the session visited a page (its localStorage is read from the live page);
 *   - 50 profiles started at once, then stopped at once.
 * Side by side, the floor Chromium sets on this machine: plain Playwright on a warm browser creating a context with the
 * same options and a page, and adding the 50 cookies (one at a time, and 50 at once over 4 browsers).
 * Knobs (env): BENCH_ROUNDS (default 40), BENCH_PARALLEL (default 50), BENCH_KEEP_LOGS=1.
 */
import { chromium, type Browser } from "playwright";
import { startSite } from "../test/fixtures/site/site";
import { machineInfo } from "./lib/machine";
import { HttpClient } from "./lib/net";
import { startNode } from "./lib/nightshift";
import { cleanupAll, stopChild, tempDir } from "./lib/procs";
import { ms, sleep, summarize, type Summary } from "./lib/stats";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 50);

function profileBody(i: number, fingerprint?: object) {
	const origins = Array.from({ length: 5 }, (_, o) => ({
		origin: `https://shop${o}.example`,
		localStorage: Array.from({ length: 10 }, (_, k) => ({ name: `key${k}`, value: `value-${i}-${o}-${k}-${"x".repeat(64)}` }))
	}));
	return { name: `bench-${i}`, tags: ["bench"], localStorage: origins, ...(fingerprint ? { fingerprint } : {}) };
}

function cookieFile(i: number): string {
	return JSON.stringify(cookiesOf(i));
}

function cookiesOf(i: number) {
	return Array.from({ length: 50 }, (_, c) => ({
		name: `c${c}`,
		value: `v-${i}-${c}-${"y".repeat(48)}`,
		domain: `shop${c % 5}.example`,
		path: "/",
		expires: 4102444800,
		httpOnly: c % 2 === 0,
		secure: true,
		sameSite: "Lax" as const
	}));
}

const FINGERPRINT = { locale: "de-DE", timezoneId: "Europe/Berlin", viewport: { width: 1366, height: 768 } };

/** Plain Playwright: a context (with the fingerprint's options or none), its page and 50 cookies; then closed. */
async function plainContexts(browsers: Browser[], rounds: number, parallel: number) {
	const one = async (browser: Browser, i: number, fingerprint: boolean) => {
		const began = performance.now();
		const context = await browser.newContext(fingerprint ? FINGERPRINT : {});
		await context.newPage();
		await context.addCookies(cookiesOf(i));
		const millis = performance.now() - began;
		return { millis, close: () => context.close() };
	};
	const sequential = async (fingerprint: boolean) => {
		const times: number[] = [];
		for (let i = 0; i < rounds; i++) {
			const r = await one(browsers[0], i, fingerprint);
			times.push(r.millis);
			await r.close();
		}
		return summarize(times);
	};
	const plain = await sequential(false);
	const withFingerprint = await sequential(true);
	const began = performance.now();
	const all = await Promise.all(Array.from({ length: parallel }, (_, i) => one(browsers[i % browsers.length], i, false)));
	const allMillis = performance.now() - began;
	await Promise.all(all.map(r => r.close()));
	return { plain, withFingerprint, parallel: { allMillis, each: summarize(all.map(r => r.millis)) } };
}

async function createProfiles(api: HttpClient, count: number, offset: number, fingerprint?: object): Promise<string[]> {
	const ids: string[] = [];
	for (let i = offset; i < offset + count; i++) {
		const created = await api.post("/api/profiles", profileBody(i, fingerprint));
		if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
		const imported = await api.post(`/api/profiles/${created.body.id}/cookies`, { content: cookieFile(i) });
		if (imported.status !== 200 || imported.body.cookies !== 50) throw new Error(`import: ${JSON.stringify(imported.body)}`);
		ids.push(created.body.id);
	}
	return ids;
}

async function timed<T>(work: () => Promise<{ status: number; body: T }>, what: string): Promise<{ millis: number; body: T }> {
	const began = performance.now();
	const answer = await work();
	const millis = performance.now() - began;
	if (answer.status !== 200) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
	return { millis, body: answer.body };
}

async function cycles(api: HttpClient, ids: string[], visit?: string) {
	const start: number[] = [];
	const stop: number[] = [];
	let warm = 0;
	for (const id of ids) {
		const s = await timed<any>(() => api.post(`/api/profile/start/${id}`, {}), "start");
		start.push(s.millis);
		if (s.body.warm) warm++;
		if (visit) {
			const out = await api.post(`/api/sessions/${s.body.sessionId}/actions`, { steps: [{ goto: visit }] });
			if (!out.body?.ok) throw new Error(`visit: ${JSON.stringify(out.body)}`);
		}
		const t = await timed<any>(() => api.post(`/api/profile/stop/${id}`, {}), "stop");
		if (!t.body.stateSaved) throw new Error("stop did not save the state");
		stop.push(t.millis);
	}
	return { start: summarize(start), stop: summarize(stop), warm };
}

async function main(): Promise<void> {
	const logDir = tempDir("nightshift-bench-sessions-logs", process.env.BENCH_KEEP_LOGS === "1");
	const site = await startSite({ pages: 1 });
	const node = await startNode({
		name: "sessions",
		services: ["api", "scheduler", "profile", "session-manager", "browser-pool"],
		logDir,
		env: {
			ALLOW_PRIVATE_NETWORKS: "true",
			TASK_DIRS: "",
			WARM_CONTEXTS: "2",
			// Room for the parallel round: 4 browsers × 16 contexts.
			MAX_BROWSERS: "4",
			MAX_CONTEXTS_PER_BROWSER: "16",
			SESSION_START_WAIT_MILLIS: "60000"
		}
	});
	const api = node.http!;
	try {
		await run(api, node, site);
	} catch (err) {
		const c = node.child;
		throw new Error(`${(err as Error).message}\nnode exited: ${c.exited} (code ${c.exitCode}, signal ${c.exitSignal})\n${c.tail()}`);
	} finally {
		await stopChild(node.child);
		await site.close();
		await cleanupAll();
	}
}

async function run(api: HttpClient, node: Awaited<ReturnType<typeof startNode>>, site: Awaited<ReturnType<typeof startSite>>): Promise<void> {
	const machine = machineInfo();
	{
		// The gateway answers before the browser pool has launched Chromium and registered.
		for (let i = 0; (await api.get("/api/pool")).body?.totals?.nodes !== 1; i++) {
			if (i > 600) throw new Error("browser-pool did not come up");
			await sleep(50);
		}
		const plain = await createProfiles(api, ROUNDS, 0);
		const withFingerprint = await createProfiles(api, ROUNDS, 1000, FINGERPRINT);
		const visiting = await createProfiles(api, ROUNDS, 2000);
		const parallel = await createProfiles(api, PARALLEL, 3000);
		// Warm-up: Chromium launched, code paths compiled.
		await cycles(api, plain.slice(0, 3));

		console.error("sequential start/stop…");
		const warmRound = await cycles(api, plain);
		const fpRound = await cycles(api, withFingerprint);
		const visitRound = await cycles(api, visiting, `${site.baseUrl}/me`);

		console.error(`${PARALLEL} starts at once…`);
		const parallelStarts: number[] = [];
		const began = performance.now();
		const settled = await Promise.allSettled(
			parallel.map(id => timed<any>(() => api.post(`/api/profile/start/${id}`, {}), "parallel start").then(r => (parallelStarts.push(r.millis), r.body)))
		);
		const failures = settled.filter(r => r.status === "rejected").map(r => String((r as PromiseRejectedResult).reason?.message ?? r));
		if (failures.length) console.error(`${failures.length} of ${PARALLEL} starts failed:\n${[...new Set(failures)].join("\n")}`);
		const handles = settled.flatMap(r => (r.status === "fulfilled" ? [r.value] : []));
		const allStartedMillis = performance.now() - began;
		const pool = (await api.get("/api/pool")).body;
		const parallelStops: number[] = [];
		const stopBegan = performance.now();
		await Promise.all(handles.map((h: any) => timed(() => api.post(`/api/profile/stop/${h.profileId}`, {}), "parallel stop").then(r => parallelStops.push(r.millis))));
		const allStoppedMillis = performance.now() - stopBegan;
		// Nightshift's node is idle now (its sessions closed): the floor, measured with the same Chromium.
		console.error("plain Playwright floor…");
		const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
		const args = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
		const browsers = await Promise.all([0, 1, 2, 3].map(() => chromium.launch({ executablePath, args })));
		const floor = await plainContexts(browsers, ROUNDS, PARALLEL).finally(() => Promise.all(browsers.map(b => b.close())));

		const row = (label: string, r: { start: Summary; stop: Summary; warm: number }) =>
			`| ${label} | ${r.start.n} | ${ms(r.start.p50)} | ${ms(r.start.p99)} | ${ms(r.stop.p50)} | ${ms(r.stop.p99)} | ${r.warm}/${r.start.n} |`;
		const ps = summarize(parallelStarts);
		const pt = summarize(parallelStops);
		const report = [
			`Machine: ${machine.nproc} cores (${machine.cpu}), ${machine.memory}, ${machine.os}, Node ${machine.node}; ${machine.date}`,
			`Profiles: 50 cookies + 5 origins × 10 localStorage items each; HTTP round trips through the gateway.`,
			"",
			"| sessions, one at a time | n | start p50 | start p99 | stop+save p50 | stop+save p99 | warm contexts |",
			"|---|---|---|---|---|---|---|",
			row("no fingerprint (prepared context)", warmRound),
			row("with a fingerprint (new context)", fpRound),
			row("stop after visiting a page", visitRound),
			`| plain Playwright: newContext + newPage + 50 cookies | ${floor.plain.n} | ${ms(floor.plain.p50)} | ${ms(floor.plain.p99)} | | | |`,
			`| plain Playwright, with the fingerprint's options | ${floor.withFingerprint.n} | ${ms(floor.withFingerprint.p50)} | ${ms(floor.withFingerprint.p99)} | | | |`,
			"",
			`| ${PARALLEL} at once | all answered | per-call p50 | per-call p99 |`,
			"|---|---|---|---|",
			`| Nightshift start (${handles.length} of ${PARALLEL} started${failures.length ? `; failed: ${[...new Set(failures)].join(", ")}` : ""}) | ${ms(allStartedMillis)} | ${ms(ps.p50)} | ${ms(ps.p99)} |`,
			`| Nightshift stop + save | ${ms(allStoppedMillis)} | ${ms(pt.p50)} | ${ms(pt.p99)} |`,
			`| plain Playwright: newContext + newPage + 50 cookies (4 browsers) | ${ms(floor.parallel.allMillis)} | ${ms(floor.parallel.each.p50)} | ${ms(floor.parallel.each.p99)} |`,
			"",
			`Nodes used for the ${PARALLEL}: ${new Set(handles.map((h: any) => h.nodeId)).size}; browsers during them: ${pool.totals.browsers}, contexts: ${pool.totals.contexts}, browser memory (private footprint): ${pool.totals.memoryMb} MB`
		].join("\n");
		console.log(report);
		console.log(JSON.stringify({ machine, warmRound, fpRound, visitRound, parallel: { allStartedMillis, allStoppedMillis, start: ps, stop: pt }, floor }));
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
