/** What the benchmark ran on. */
import fs from "node:fs";
import os from "node:os";

export interface MachineInfo {
	nproc: number;
	memory: string;
	node: string;
	cpu: string;
	date: string;
	os: string;
}

export function machineInfo(): MachineInfo {
	let cpu = os.cpus()[0]?.model ?? "unknown";
	try {
		const line = fs
			.readFileSync("/proc/cpuinfo", "utf8")
			.split("\n")
			.find(l => l.startsWith("model name"));
		if (line) cpu = line.split(":").slice(1).join(":").trim();
	} catch {
		/* not Linux */
	}
	return {
		nproc: os.availableParallelism(),
		memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
		node: process.version,
		cpu,
		date: new Date().toISOString(),
		os: `${os.type()} ${os.release()}`
	};
}

/**
 * CPU time the hypervisor gave to other guests (the `steal` column of /proc/stat), in milliseconds since boot; 0
 * where it is not reported. A rise during a run means this VM's processes stood still for that long.
 */
export function stealMillis(): number {
	try {
		const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
		return (Number(fields[8]) || 0) * (1000 / 100); // USER_HZ is 100 on Linux
	} catch {
		return 0;
	}
}

/**
 * CPU time spent by the whole machine (user, nice, system, irq, softirq of /proc/stat), in milliseconds since boot.
 * Over a run with nothing else going on, its rise is the CPU that run cost — steadier than its wall time on a VM whose
 * speed drifts, since a slower CPU stretches both the run and its CPU time less than it stretches the wall clock.
 */
export function busyMillis(): number {
	try {
		const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
		return (f[1] + f[2] + f[3] + f[6] + f[7]) * (1000 / 100);
	} catch {
		return 0;
	}
}
