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

	it("sums a process tree", () => {
		expect(processTree(process.pid)[0]).toBe(process.pid);
		expect(treeMemoryBytes(process.pid)).toBeGreaterThanOrEqual(processMemoryBytes(process.pid) - MB);
	});
});
