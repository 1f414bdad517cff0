/** The journal check the cluster test relies on must itself catch what it claims to catch. */
import { analyzeJournal, JournalLine } from "./journal";

function journal(text: string): JournalLine[] {
	return text
		.trim()
		.split("\n")
		.map((raw, i) => {
			const [kind, taskId, nodeId, attempt, at] = raw.trim().split(" ");
			return { line: i + 1, kind: kind as JournalLine["kind"], taskId, nodeId, attempt: Number(attempt), at: Number(at) };
		});
}

const killed = { nodeId: "w1", at: 1000, exitAt: 1010 };

describe("journal analysis", () => {
	test("sequential executions and a re-run after the kill are fine", () => {
		const a = analyzeJournal(
			journal(`
				start t1 w1 1 100
				start t2 w2 1 110
				end t2 w2 1 150
				start t3 w2 1 160
				end t3 w2 1 200
				start t1 w2 2 5000
				end t1 w2 2 5040
			`),
			killed
		);
		expect(a.violations).toEqual([]);
		expect([...a.cutShort]).toEqual(["t1"]);
		expect(a.executions).toHaveLength(4);
	});

	test("two live executions of one task overlapping is caught", () => {
		const a = analyzeJournal(
			journal(`
				start t1 w2 1 100
				start t1 w3 2 120
				end t1 w2 1 140
				end t1 w3 2 160
			`),
			killed
		);
		expect(a.violations).toEqual([expect.stringContaining("t1 started on w3#2 while w2#1 (line 1) was still running")]);
	});

	test("a replacement that starts before the kill, while the victim still runs it, is caught", () => {
		const a = analyzeJournal(
			journal(`
				start t1 w1 1 100
				start t1 w2 2 900
				end t1 w2 2 940
			`),
			killed
		);
		expect(a.violations).toEqual([expect.stringContaining("t1 started on w2#2 while w1#1 (line 1) was still running")]);
	});

	test("an execution on a live node that never ends, and lines from the victim after its exit, are caught", () => {
		const a = analyzeJournal(
			journal(`
				start t1 w2 1 100
				start t2 w1 1 2000
			`),
			killed
		);
		expect(a.violations).toEqual([
			expect.stringContaining("start of t2 on w1 after that process had exited"),
			expect.stringContaining("t1: execution w2#1 (line 1) never ended"),
			// t2 started after the victim died: it cannot count as cut short by the kill.
			expect.stringContaining("t2: execution w1#1 (line 2) never ended")
		]);
		expect(a.cutShort.size).toBe(0);
	});

	test("an end without its start is caught", () => {
		expect(analyzeJournal(journal("end t1 w2 1 100")).violations).toEqual([
			expect.stringContaining("end of t1 on w2#1 without a start")
		]);
	});
});
