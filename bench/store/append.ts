/**
 * What one NeDB append costs: `appendFileSync` (open, write, close per line, as before) against `writeFileSync` on a
 * descriptor kept open (as `src/store/nedb-store.ts` does now), for a task-sized line.
 *
 *   npx tsx bench/store/append.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const N = 20_000;
const line =
	JSON.stringify({
		_id: "0mx2yu9pe0000cf526cfb",
		type: "noop",
		payload: { echo: "run-abc" },
		status: "completed",
		history: [{ attempt: 1, outcome: "completed", startedAt: "2026-11-30T00:00:00.000Z", endedAt: "2026-11-30T00:00:00.002Z" }],
		log: []
	}) + "\n";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-append-"));
try {
	for (let round = 1; round <= 3; round++) {
		const a = path.join(dir, `a${round}.db`);
		const b = path.join(dir, `b${round}.db`);
		let t0 = performance.now();
		for (let i = 0; i < N; i++) fs.appendFileSync(a, line, "utf8");
		const perAppend = ((performance.now() - t0) * 1000) / N;
		t0 = performance.now();
		const fd = fs.openSync(b, "a");
		for (let i = 0; i < N; i++) fs.writeFileSync(fd, line, "utf8");
		fs.closeSync(fd);
		const perWrite = ((performance.now() - t0) * 1000) / N;
		console.log(`round ${round}: appendFileSync ${perAppend.toFixed(1)} µs a line, open descriptor ${perWrite.toFixed(1)} µs a line (${line.length} bytes, ${N} lines)`);
	}
} finally {
	fs.rmSync(dir, { recursive: true, force: true });
}
