import { spawn } from "node:child_process";
import { once } from "node:events";
import { processMemoryBytes, processTree, treeMemoryBytes } from "../../src/browser/process-memory";

const MB = 1024 * 1024;

describe("process memory from /proc", () => {
	it("counts private memory a process touches, and not a process that is gone", () => {
		const before = processMemoryBytes(process.pid);
		expect(before).toBeGreaterThan(10 * MB);
		// Touched pages are private anonymous memory: the footprint grows by about their size.
		const block = Buffer.alloc(96 * MB, 1);
		const after = processMemoryBytes(process.pid);
		expect(after - before).toBeGreaterThan(80 * MB);
		expect(block[block.length - 1]).toBe(1);
		expect(processMemoryBytes(2 ** 22 + 12345)).toBe(0);
	});

	it("sums a process tree: a child's memory is counted with its parent's", async () => {
		// A child that touches 64 MB, then says so and waits (as a Chromium renderer under its browser process).
		const child = spawn(process.execPath, ["-e", "globalThis.b = Buffer.alloc(64 * 1024 * 1024, 1); console.log('ready'); setInterval(() => {}, 1000);"], {
			stdio: ["ignore", "pipe", "inherit"]
		});
		try {
			await once(child.stdout!, "data");
			const tree = processTree(process.pid);
			expect(tree[0]).toBe(process.pid);
			expect(tree).toContain(child.pid);
			const childBytes = processMemoryBytes(child.pid!);
			expect(childBytes).toBeGreaterThan(60 * MB);
			expect(Math.abs(treeMemoryBytes(child.pid!) - childBytes)).toBeLessThan(MB);
			// This process's own footprint may move by a few MB between two reads (the old test's flake); the child's
			// 64 MB stand out of that.
			const withoutOwn = treeMemoryBytes(process.pid) - processMemoryBytes(process.pid);
			expect(withoutOwn).toBeGreaterThan(childBytes - 16 * MB);
		} finally {
			// A child that already died has emitted its "exit": waiting for another would hang.
			if (child.exitCode === null && child.signalCode === null) {
				const exited = once(child, "exit");
				child.kill("SIGKILL");
				await exited;
			}
		}
	});
});
