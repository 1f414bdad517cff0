/**
 * Child processes and temp dirs of a benchmark run, and their cleanup: at the end, on error, on Ctrl-C, and (for
 * processes) even when the bench process exits abruptly.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep } from "./stats";

export const ROOT = path.resolve(__dirname, "../..");

export interface Child {
	name: string;
	proc: ChildProcess;
	pid: number;
	logFile: string;
	exited: boolean;
	exitCode: number | null;
	exitSignal: NodeJS.Signals | null;
	/** Sends a request over the IPC channel (children started with the mem-probe preload) and waits for the answer. */
	ask<T = any>(message: Record<string, unknown>, timeoutMillis?: number): Promise<T>;
	/** Last lines of the child's log, for error messages. */
	tail(lines?: number): string;
}

const children = new Set<Child>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

function installCleanup(): void {
	if (cleanupInstalled) return;
	cleanupInstalled = true;
	// Last resort: whatever is still alive dies with us.
	process.on("exit", () => {
		for (const c of children) if (!c.exited) try { process.kill(c.pid, "SIGKILL"); } catch { /* gone */ }
		for (const dir of tempDirs) try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
	});
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
		process.on(signal, () => {
			console.error(`\n${signal}: stopping child processes and removing temp dirs`);
			process.exit(130);
		});
}

/** A temp dir removed at cleanup (unless `keep`). */
export function tempDir(prefix: string, keep = false): string {
	installCleanup();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
	if (!keep) tempDirs.add(dir);
	return dir;
}

export interface SpawnOptions {
	name: string;
	/** Script path relative to the repository root (run through tsx). */
	script: string;
	env: Record<string, string>;
	/** Extra node flags before `--import tsx` (e.g. `--expose-gc`). */
	nodeFlags?: string[];
	/** Extra modules to preload after tsx (absolute paths). */
	preload?: string[];
	logDir: string;
	/** Directory the script is resolved in (another checkout of the repository); this one by default. */
	cwd?: string;
}

let seq = 0;
const ipcWaiters = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

/**
 * Starts `node [flags] --import tsx [--import preload] script` directly (not through the tsx CLI, which would put a
 * second process between us and the one we may `kill -9`). stdout and stderr go to a log file.
 */
export function spawnNode(opts: SpawnOptions): Child {
	installCleanup();
	const logFile = path.join(opts.logDir, `${opts.name}.log`);
	const fd = fs.openSync(logFile, "a");
	const args = [...(opts.nodeFlags ?? []), "--import", "tsx"];
	for (const p of opts.preload ?? []) args.push("--import", pathToImport(p));
	args.push(opts.script);
	const proc = spawn(process.execPath, args, {
		cwd: opts.cwd ?? ROOT,
		env: { ...process.env, ...opts.env },
		stdio: ["ignore", fd, fd, "ipc"]
	});
	fs.closeSync(fd);
	const child: Child = {
		name: opts.name,
		proc,
		pid: proc.pid!,
		logFile,
		exited: false,
		exitCode: null,
		exitSignal: null,
		ask(message, timeoutMillis = 30000) {
			const id = ++seq;
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					ipcWaiters.delete(id);
					reject(new Error(`${opts.name} did not answer ${JSON.stringify(message)}`));
				}, timeoutMillis);
				ipcWaiters.set(id, {
					resolve: v => {
						clearTimeout(timer);
						resolve(v);
					},
					reject: e => {
						clearTimeout(timer);
						reject(e);
					}
				});
				proc.send({ ...message, id });
			});
		},
		tail(lines = 30) {
			try {
				return fs.readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
			} catch {
				return "";
			}
		}
	};
	proc.on("message", (msg: any) => {
		const waiter = msg && typeof msg.id === "number" ? ipcWaiters.get(msg.id) : undefined;
		if (!waiter) return;
		ipcWaiters.delete(msg.id);
		if (msg.error) waiter.reject(new Error(msg.error));
		else waiter.resolve(msg.result);
	});
	proc.on("exit", (code, signal) => {
		child.exited = true;
		child.exitCode = code;
		child.exitSignal = signal;
	});
	// The IPC channel must not keep the bench alive, nor make it crash when the child dies.
	proc.on("error", () => undefined);
	proc.channel?.unref?.();
	children.add(child);
	return child;
}

function pathToImport(p: string): string {
	return path.isAbsolute(p) ? `file://${p}` : p;
}

/** SIGTERM, then SIGKILL after `graceMillis`; resolves when the process is gone. */
export async function stopChild(child: Child, graceMillis = 2000): Promise<void> {
	if (child.exited) {
		children.delete(child);
		return;
	}
	const gone = new Promise<void>(resolve => child.proc.once("exit", () => resolve()));
	try {
		process.kill(child.pid, "SIGTERM");
	} catch {
		/* already gone */
	}
	const timedOut = await Promise.race([gone.then(() => false), sleep(graceMillis).then(() => true)]);
	if (timedOut && !child.exited) {
		try {
			process.kill(child.pid, "SIGKILL");
		} catch {
			/* already gone */
		}
		await Promise.race([gone, sleep(2000)]);
	}
	children.delete(child);
}

/** `kill -9`, for the failover measurement. */
export function killHard(child: Child): void {
	process.kill(child.pid, "SIGKILL");
}

/** Stops every child still running and removes every temp dir. */
export async function cleanupAll(): Promise<void> {
	await Promise.all([...children].map(c => stopChild(c)));
	for (const dir of tempDirs) {
		fs.rmSync(dir, { recursive: true, force: true });
		tempDirs.delete(dir);
	}
}
