import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface LoadSample {
	timestamp: string;
	/** This process's CPU use since the last sample, in percent of one core. */
	processCpuPercent: number;
	/** 1-minute load average divided by the core count. */
	systemLoadRatio: number;
	rssBytes: number;
	heapUsedBytes: number;
	systemFreeMemoryRatio: number;
	eventLoopDelayP99Millis: number;
}

/** Samples this node's load: CPU, memory and event-loop delay (the signals throttling decisions will read). */
export class LoadSampler {
	private readonly histogram = monitorEventLoopDelay({ resolution: 20 });
	private lastCpu = process.cpuUsage();
	private lastAt = process.hrtime.bigint();

	start(): void {
		this.histogram.enable();
	}

	stop(): void {
		this.histogram.disable();
	}

	sample(): LoadSample {
		const now = process.hrtime.bigint();
		const cpu = process.cpuUsage(this.lastCpu);
		const elapsedMicros = Number(now - this.lastAt) / 1000;
		this.lastCpu = process.cpuUsage();
		this.lastAt = now;
		const mem = process.memoryUsage();
		const sample: LoadSample = {
			timestamp: new Date().toISOString(),
			processCpuPercent: elapsedMicros > 0 ? Math.round(((cpu.user + cpu.system) / elapsedMicros) * 1000) / 10 : 0,
			systemLoadRatio: Math.round((os.loadavg()[0] / os.cpus().length) * 100) / 100,
			rssBytes: mem.rss,
			heapUsedBytes: mem.heapUsed,
			systemFreeMemoryRatio: Math.round((os.freemem() / os.totalmem()) * 100) / 100,
			eventLoopDelayP99Millis: Math.round(this.histogram.percentile(99) / 1e4) / 100
		};
		this.histogram.reset();
		return sample;
	}
}
