/**
 * Reads the journal the `journal` fixture task writes (test/fixtures/tasks/journal.ts): one line per attempt start and
 * end, `start|end|abort <taskId> <nodeId> <attempt> <epochMillis>` (`abort`: the attempt's signal stopped it),
 * appended by every worker process to one file, so the line order is the order in which those events really happened
 * across the cluster.
 */
import fs from "node:fs";

export interface JournalLine {
	line: number;
	kind: "start" | "end" | "abort";
	taskId: string;
	nodeId: string;
	attempt: number;
	at: number;
}

export interface Execution {
	taskId: string;
	nodeId: string;
	attempt: number;
	startLine: number;
	startAt: number;
	endLine: number | null;
	endAt: number | null;
	/** Stopped by its signal (cancel, lost lease, hand-back) rather than run to its end. */
	aborted: boolean;
}

export interface JournalAnalysis {
	lines: JournalLine[];
	executions: Execution[];
	/** Everything that breaks "at most one live execution of a task at a time". Empty when all is well. */
	violations: string[];
	/** Tasks whose execution on the killed node never ended (the process died under it). */
	cutShort: Set<string>;
}

export function readJournal(file: string): JournalLine[] {
	if (!fs.existsSync(file)) return [];
	const text = fs.readFileSync(file, "utf8");
	const lines: JournalLine[] = [];
	text.split("\n").forEach((raw, i) => {
		if (raw === "") return;
		const m = /^(start|end|abort) (\S+) (\S+) (\d+) (\d+)$/.exec(raw);
		if (!m) throw new Error(`journal line ${i + 1} is malformed: ${JSON.stringify(raw)}`);
		lines.push({ line: i + 1, kind: m[1] as JournalLine["kind"], taskId: m[2], nodeId: m[3], attempt: Number(m[4]), at: Number(m[5]) });
	});
	return lines;
}

/** Executions started and not (yet) ended or aborted, in file order. */
export function openExecutions(lines: JournalLine[]): { taskId: string; nodeId: string; attempt: number }[] {
	const open = new Map<string, { taskId: string; nodeId: string; attempt: number }>();
	for (const l of lines) {
		const key = `${l.taskId} ${l.nodeId} ${l.attempt}`;
		if (l.kind === "start") open.set(key, { taskId: l.taskId, nodeId: l.nodeId, attempt: l.attempt });
		else open.delete(key);
	}
	return [...open.values()];
}

/**
 * Replays the journal in file order. A task may never start while an earlier execution of it is still running on a
 * live node. The only execution allowed to stay open is one on `killed.nodeId` that began before `killed.at`; a
 * start that supersedes it must come after the kill. Every execution on a live node must end.
 */
export function analyzeJournal(lines: JournalLine[], killed?: { nodeId: string; at: number; exitAt: number }): JournalAnalysis {
	const open = new Map<string, Execution[]>();
	const executions: Execution[] = [];
	const violations: string[] = [];
	const describe = (e: Execution) => `${e.nodeId}#${e.attempt} (line ${e.startLine})`;

	for (const l of lines) {
		const running = open.get(l.taskId) ?? [];
		open.set(l.taskId, running);
		if (killed && l.nodeId === killed.nodeId && l.at > killed.exitAt)
			violations.push(`line ${l.line}: ${l.kind} of ${l.taskId} on ${l.nodeId} after that process had exited`);
		if (l.kind === "start") {
			for (const other of running) {
				const deadBeforeThis = killed && other.nodeId === killed.nodeId && l.nodeId !== killed.nodeId && l.at >= killed.at;
				if (!deadBeforeThis)
					violations.push(
						`line ${l.line}: ${l.taskId} started on ${l.nodeId}#${l.attempt} while ${describe(other)} was still running`
					);
			}
			const exec: Execution = {
				taskId: l.taskId,
				nodeId: l.nodeId,
				attempt: l.attempt,
				startLine: l.line,
				startAt: l.at,
				endLine: null,
				endAt: null,
				aborted: false
			};
			running.push(exec);
			executions.push(exec);
		} else {
			const i = running.findIndex(e => e.nodeId === l.nodeId && e.attempt === l.attempt);
			if (i < 0) {
				violations.push(`line ${l.line}: end of ${l.taskId} on ${l.nodeId}#${l.attempt} without a start`);
				continue;
			}
			const [exec] = running.splice(i, 1);
			exec.endLine = l.line;
			exec.endAt = l.at;
			exec.aborted = l.kind === "abort";
		}
	}

	const cutShort = new Set<string>();
	for (const running of open.values())
		for (const e of running) {
			if (killed && e.nodeId === killed.nodeId && e.startAt <= killed.exitAt) cutShort.add(e.taskId);
			else violations.push(`${e.taskId}: execution ${describe(e)} never ended, on a node that was not killed`);
		}
	return { lines, executions, violations, cutShort };
}
