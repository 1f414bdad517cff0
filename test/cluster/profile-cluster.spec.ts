/**
 * Profile sessions across real processes on the local NATS: the "already active" lock holds across gateways, and the
 * session of a node killed with -9 is taken over with the state of its last snapshot. Run: `npx jest test/cluster`.
 */
import { freePort } from "../../bench/lib/net";
import { type ApiError, destroyAllClusters, waitFor, withCluster } from "../helpers/cluster";
import { loginSteps, startSite, type Site } from "../fixtures/site/site";

jest.setTimeout(120_000);

afterEach(destroyAllClusters);

describe("profile sessions across nodes", () => {
	let site: Site;
	beforeAll(async () => {
		site = await startSite({ pages: 1 });
	});
	afterAll(async () => {
		await site?.close();
	});

	it("one session per profile across gateways; a kill -9 of its node hands the profile over with its last snapshot", async () => {
		await withCluster("profiles", async cluster => {
			// Short stale time and snapshot interval, so the test sees both happen.
			const timing = { SESSION_LOCK_STALE_SECS: 4, PROFILE_SNAPSHOT_SECS: 1 };
			await cluster.startCore({ LOG_LEVEL: "info", ...timing }, "api,scheduler,profile,session-manager");
			const port = await freePort();
			const secondGateway = `http://127.0.0.1:${port}`;
			cluster.spawn("gw2", "api", { PORT: port, ...timing });
			cluster.startWorker("b1", timing);
			cluster.startWorker("b2", timing);
			const workers = await cluster.waitForWorkers(["b1", "b2"]);
			await cluster.waitForCoreToKnow(["b1", "b2", "gw2"]);
			await waitFor(async () => (await fetch(`${secondGateway}/api/sessions`)).ok, { timeoutMillis: 30_000, what: "the second gateway" });

			const profile = await cluster.api("POST", "/api/profiles", { name: "shared" });

			// Two starts at once, through two gateway processes: one session, one 409.
			const attempt = (base: string) =>
				cluster.api("POST", `/api/profile/start/${profile.id}`, {}, base).then(
					body => ({ status: 200, body }),
					(err: ApiError) => ({ status: err.status, body: err.body as any })
				);
			const answers = await Promise.all([attempt(cluster.baseUrl), attempt(secondGateway)]);
			expect(answers.map(a => a.status).sort()).toEqual([200, 409]);
			const handle = answers.find(a => a.status === 200)!.body;
			expect(answers.find(a => a.status === 409)!.body.type).toBe("PROFILE_ALREADY_ACTIVE");
			expect((await cluster.api("GET", "/api/sessions", undefined, secondGateway)).map((s: any) => s.sessionId)).toEqual([handle.sessionId]);

			// Log in inside the session, through the second gateway, and wait for a snapshot to hold it.
			const act = (sessionId: string, steps: object[]) => cluster.api("POST", `/api/sessions/${sessionId}/actions`, { steps }, secondGateway);
			const login = await act(handle.sessionId, loginSteps(site.baseUrl));
			expect(login.ok).toBe(true);
			await waitFor(
				async () => {
					const p = await cluster.api("GET", `/api/profiles/${profile.id}`);
					return p.stateInfo.cookies === 1 && p.stateInfo.origins === 1;
				},
				{ timeoutMillis: 15_000, what: "a snapshot with the login" }
			);

			// The node holding the session dies; the profile is started again on the other one, still logged in.
			const holder = handle.nodeId as "b1" | "b2";
			const other = holder === "b1" ? "b2" : "b1";
			const { killAt } = await cluster.kill9(holder, workers.get(holder)!.pid!);
			const again = await waitFor(
				async () => {
					const res = await attempt(cluster.baseUrl);
					if (res.status !== 200 && res.body?.type !== "PROFILE_ALREADY_ACTIVE") throw new Error(JSON.stringify(res.body));
					return res.status === 200 ? res.body : null;
				},
				{ timeoutMillis: 30_000, intervalMillis: 250, what: "the profile to be taken over" }
			);
			expect(again.nodeId).toBe(other);
			expect(Date.now() - killAt).toBeLessThan(4_000 + 15_000);
			const me = await act(again.sessionId, [{ goto: `${site.baseUrl}/me` }, { extract: { selector: "#status" } }, { extract: { selector: "#stored-user" } }]);
			expect(me.results.slice(1).map((r: any) => r.value)).toEqual(["Logged in as alice", "Stored user: alice"]);
			const stop = await cluster.api("POST", `/api/profile/stop/${profile.id}`);
			expect(stop).toMatchObject({ sessionId: again.sessionId, stateSaved: true });
		});
	});
});
