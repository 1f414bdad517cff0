import os from "node:os";
import type { BrowserContext, BrowserContextOptions, Page } from "playwright";
import { BrowserCrashedError, ERROR_TYPES, TaskError } from "../errors";
import { newId } from "../ids";
import { contextOptions, type Fingerprint } from "./fingerprint";
import { Gate } from "./gate";
import { originOf } from "./origin";
import { ListenerBaseline } from "./listeners";
import { launchChromium } from "./launch";
import { treeMemoryBytes } from "./process-memory";
import { clearContext, resetSharedContext } from "./context-reset";
import { cdpOf, type PooledBrowser, type PooledContext } from "./pooled";
import { ActiveSession, type PoolSession, type SessionLimits } from "./session";
import { quietly, withTimeout } from "./timeouts";

export interface BrowserPoolOptions {
	executablePath: string;
	/** Browsers this node runs at most. @default 2 */
	maxBrowsers: number;
	/** Contexts one browser holds at most (busy and prepared). @default 8 */
	maxContextsPerBrowser: number;
	/** A browser is retired (closed once idle, replaced) after serving this many sessions. @default 500 */
	retireBrowserAfterSessions: number;
	/** A browser without a busy context for this long is closed. @default 120 */
	browserIdleSecs: number;
	/** Contexts kept ready ahead of demand. @default 2 */
	warmContexts: number;
	/**
	 * Tasks the node's worker runs at once (`WORKER_CONCURRENCY`). Contexts are prepared only while the node has fewer
	 * default contexts than this: a worker's slot keeps its context until the context is cleared, so more are never in
	 * use at once, and idle extra ones cost Chromium CPU (BENCHMARKS.md). Unset: no such bound.
	 */
	workerConcurrency?: number;
	/** A context is recycled by clearing up to this many times, then replaced. @default 50 */
	maxContextUses: number;
	/**
	 * Empty a recycled context's HTTP cache, as a fresh context's is. Unset: true. False keeps cached responses (and
	 * their validators: an ETag is an identifier a site can set) across the tasks a context serves, which is faster.
	 */
	clearHttpCache?: boolean;
	launchTimeoutMillis: number;
	/** After a failed launch, Chromium is tried again this often until it starts. @default 15000 */
	relaunchMillis?: number;
	/** Deadline of every other browser call (new context, new page, clearing, closing). @default 10000 */
	operationTimeoutMillis: number;
	/** How often held sessions are checked against their limits. @default 500 */
	limitCheckMillis: number;
	limits: SessionLimits;
	/** Proxy every browser sends its traffic through (the URL policy). */
	proxyServer?: string;
}

export interface SessionRequest {
	taskId: string;
	/** The attempt's signal: waiting for a slot stops when it aborts. */
	signal: AbortSignal;
	/** A limit tripped or the browser crashed: the attempt must end with this error. */
	onFailure(err: Error): void;
	fingerprint?: Fingerprint;
	/** Run inside this profile's session (tasks submitted with `profileId`; see ProfileTaskBrowsers). */
	profileId?: string;
	/** A proxy of the context's own (a profile's): its traffic goes there instead of the browser's proxy. */
	proxy?: { server: string; bypass?: string };
	limits?: Partial<SessionLimits>;
	/**
	 * A group of tasks that trust each other: their sessions reuse one another's contexts as they were left (cookies,
	 * storage, HTTP cache, the tab's last page), nothing cleared between them. Unset: a context of the session's own.
	 */
	sharedContext?: string;
}

const ACQUIRE_SAMPLES = 1000;
/** Contexts created at the same time: enough to keep the cores busy, few enough to finish within their deadline. */
const CONCURRENT_CREATES = Math.max(2, os.availableParallelism());
const MEMORY_READ_MILLIS = 5000;

/**
 * The browsers of one node (after crawlee's browser-pool): browsers are reused across tasks; each task gets its own
 * context, cleared or replaced between tasks so nothing leaks from one task to the next; contexts are prepared ahead of
 * demand; a browser is retired after N sessions or any crash; idle browsers are closed. Held sessions are watched for
 * their limits (memory, duration, pages).
 */
export class BrowserPool {
	private readonly browsers = new Set<PooledBrowser>();
	/** Sessions handed out, by id: found again on release even when their browser is gone. */
	private readonly held = new Map<string, PooledContext>();
	private launching?: Promise<PooledBrowser>;
	/** Sessions held or being set up: what the slot limit counts. */
	private reserved = 0;
	private readonly waiters: { resolve(): void; reject(err: Error): void; signal: AbortSignal; onAbort(): void }[] = [];
	private closed = false;
	/** Demand since the last idle shutdown: only then are contexts prepared ahead. */
	private warmWanted = true;
	private timers: NodeJS.Timeout[] = [];
	private checking = false;
	private readonly acquireMillis: number[] = [];
	private readonly creating = new Gate(CONCURRENT_CREATES);
	private acquired = 0;
	private warmHits = 0;
	private crashes = 0;
	private version = "";

	constructor(
		private readonly options: BrowserPoolOptions,
		private readonly logger: { debug(...a: unknown[]): void; info(...a: unknown[]): void; warn(...a: unknown[]): void }
	) {}

	/** The guard proxy listens only once the service starts: browsers launched after this go through it. */
	setProxy(url: string): void {
		this.options.proxyServer = url;
	}

	/** Sessions this node can hold at once. */
	get capacity(): number {
		return this.options.maxBrowsers * this.options.maxContextsPerBrowser;
	}

	get busy(): number {
		return this.reserved;
	}

	/** Launches the first browser and prepares contexts; fails when Chromium cannot start. */
	async start(): Promise<void> {
		const every = (millis: number, fn: () => void) => {
			const t = setInterval(fn, millis);
			t.unref();
			this.timers.push(t);
		};
		every(this.options.limitCheckMillis, () => void this.checkSessions());
		every(Math.max(1000, (this.options.browserIdleSecs * 1000) / 4), () => this.closeIdleBrowsers());
		// A node whose Chromium cannot start takes no browser tasks, so no task would ever try again: this does.
		every(this.options.relaunchMillis ?? 15_000, () => void this.relaunchAfterFailure());
		await this.topUp();
	}

	async acquire(request: SessionRequest): Promise<PoolSession> {
		if (this.closed) throw poolClosed();
		const began = performance.now();
		this.warmWanted = true;
		await this.waitForSlot(request.signal);
		this.reserved++;
		try {
			const { options, signature: identity, viewport } = contextOptions(request.fingerprint, this.version);
			let base = identity;
			if (request.proxy) {
				options.proxy = request.proxy;
				base = JSON.stringify({ identity, proxy: request.proxy.server });
			}
			const wanted: Wanted = { signature: base, group: request.sharedContext };
			// A context created for this session starts at its viewport; a prepared one is resized.
			const { pooled, warm } = await this.obtainContext(wanted, viewport ? { ...options, viewport } : options);
			if (request.signal.aborted) {
				pooled.session = undefined;
				this.contextFreed();
				throw request.signal.reason;
			}
			if (viewport) {
				if (warm) await withTimeout(pooled.page.setViewportSize(viewport), this.options.operationTimeoutMillis, "set viewport");
				pooled.viewportChanged = true;
			}
			const millis = performance.now() - began;
			const session = new ActiveSession(
				newId(),
				request.taskId,
				pooled.page,
				pooled.context,
				pooled.owner.id,
				Math.round(millis * 100) / 100,
				warm,
				{ ...this.options.limits, ...request.limits },
				(s, err) => this.onTrip(pooled, s, err, request.onFailure),
				page => (page === pooled.page ? cdpOf(pooled, this.options.operationTimeoutMillis) : pooled.context.newCDPSession(page))
			);
			pooled.session = session;
			pooled.uses++;
			pooled.owner.sessionsServed++;
			pooled.owner.lastBusyAt = Date.now();
			this.held.set(session.id, pooled);
			this.recordAcquire(millis, warm);
			return session;
		} catch (err) {
			this.reserved--;
			this.wakeWaiter();
			throw err;
		} finally {
			void this.topUp();
		}
	}

	/**
	 * Ends a session: its context is cleared for the next task, or replaced (`discard`, a tripped limit, a crash, too
	 * many uses). Never rejects; settles once the context is cleared or closed (callers that need not wait ignore it).
	 */
	release(session: PoolSession, discard = false): Promise<void> {
		const pooled = this.held.get(session.id);
		if (!pooled) return Promise.resolve();
		this.held.delete(session.id);
		const active = pooled.session!;
		pooled.session = undefined;
		pooled.owner.lastBusyAt = Date.now();
		const replace =
			discard ||
			pooled.broken ||
			active.tripped !== undefined ||
			pooled.uses >= this.options.maxContextUses ||
			pooled.owner.retiring ||
			pooled.owner.closing ||
			this.closed;
		if (pooled.owner.sessionsServed >= this.options.retireBrowserAfterSessions) pooled.owner.retiring = true;
		if (replace) return this.replace(pooled).finally(() => this.slotFreed());
		pooled.recycling = true;
		return (pooled.sharedGroup === undefined
			? clearContext(pooled, { timeoutMillis: this.options.operationTimeoutMillis, clearHttpCache: this.options.clearHttpCache !== false })
			: resetSharedContext(pooled, this.options.operationTimeoutMillis)
		).then(
			() => {
				pooled.recycling = false;
				pooled.idleSince = performance.now();
				this.contextFreed();
				this.slotFreed();
			},
			err => {
				this.logger.debug("context could not be cleared; replacing it", err?.message);
				pooled.recycling = false;
				return this.discard(pooled).finally(() => this.slotFreed());
			}
		);
	}

	/** Sessions this node can take now: what its heartbeat advertises. */
	slots(): { total: number; busy: number; free: number; waiting: number; launchError?: string } {
		const slots = { total: this.capacity, busy: this.reserved, free: Math.max(0, this.capacity - this.reserved), waiting: this.waiters.length };
		// Free slots are no capacity while Chromium cannot start: the heartbeat says so, and health reports it.
		return this.launchError ? { ...slots, launchError: this.launchError } : slots;
	}
	/** Why the last launch failed, until one succeeds. */
	private launchError?: string;

	/** Chromium could not be started the last time it was tried: browser tasks belong on other nodes for now. */
	get launchFailing(): boolean {
		return this.launchError !== undefined;
	}

	private async relaunchAfterFailure(): Promise<void> {
		if (!this.launchFailing || this.closed || this.launching) return;
		const launched = await this.launchOne().catch(() => undefined);
		if (launched) {
			this.logger.info("Chromium starts again: this node takes browser tasks again");
			this.warmWanted = true;
			void this.topUp();
		}
	}

	/** What `/api/pool` shows for this node. */
	status() {
		const now = Date.now();
		const sorted = [...this.acquireMillis].sort((a, b) => a - b);
		const percentile = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
		return {
			slots: this.slots(),
			browsers: [...this.browsers].map(b => ({
				id: b.id,
				pid: b.pid ?? null,
				version: b.version,
				launchedAt: new Date(b.launchedAt).toISOString(),
				contexts: b.contexts.size,
				busyContexts: [...b.contexts].filter(c => c.session).length,
				sessionsServed: b.sessionsServed,
				retiring: b.retiring,
				memoryMb: this.browserMemoryMb(b)
			})),
			sessions: [...this.browsers].flatMap(b =>
				[...b.contexts]
					.filter(c => c.session && c.session !== PLACEHOLDER)
					.map(c => ({
						id: c.session!.id,
						taskId: c.session!.taskId,
						browserId: b.id,
						contextId: c.id,
						sharedContext: c.sharedGroup ?? null,
						pages: c.session!.pagesOpened,
						memoryMb: c.session!.memoryMb ?? null,
						ageMillis: now - c.session!.startedAt
					}))
			),
			warmContexts: this.idleContexts().length,
			acquire: { count: this.acquired, warmHits: this.warmHits, p50Millis: percentile(0.5), p99Millis: percentile(0.99) },
			crashes: this.crashes
		};
	}

	/**
	 * A browser's memory (private footprint of its process tree), read at most every MEMORY_READ_MILLIS: a walk of /proc
	 * is cheap but not free, and a dashboard polling `/api/pool` must not slow the browsers down.
	 */
	private browserMemoryMb(b: PooledBrowser): number | null {
		if (!b.pid) return null;
		const now = Date.now();
		if (!b.memory || now - b.memory.at > MEMORY_READ_MILLIS) b.memory = { at: now, mb: Math.round(treeMemoryBytes(b.pid) / (1024 * 1024)) };
		return b.memory.mb;
	}

	/** Closes every browser (with a kill fallback); waiting acquires fail. */
	async close(): Promise<void> {
		this.closed = true;
		for (const t of this.timers) clearInterval(t);
		this.timers = [];
		for (const w of this.waiters.splice(0)) {
			w.signal.removeEventListener("abort", w.onAbort);
			w.reject(poolClosed());
		}
		await this.launching?.catch(() => undefined);
		await Promise.all([...this.browsers].map(b => this.closeBrowser(b)));
	}

	// ── slots ──────────────────────────────────────────────────────────────────────────────────────────────

	private waitForSlot(signal: AbortSignal): Promise<void> {
		if (signal.aborted) return Promise.reject(signal.reason);
		if (this.reserved < this.capacity && this.waiters.length === 0) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const waiter = {
				resolve,
				reject,
				signal,
				onAbort: () => {
					const i = this.waiters.indexOf(waiter);
					if (i >= 0) this.waiters.splice(i, 1);
					reject(signal.reason);
				}
			};
			signal.addEventListener("abort", waiter.onAbort, { once: true });
			this.waiters.push(waiter);
		});
	}

	private slotFreed(): void {
		this.reserved--;
		this.wakeWaiter();
		void this.topUp();
	}

	private wakeWaiter(): void {
		if (this.reserved >= this.capacity) return;
		const waiter = this.waiters.shift();
		if (!waiter) return;
		waiter.signal.removeEventListener("abort", waiter.onAbort);
		waiter.resolve();
	}

	// ── contexts ───────────────────────────────────────────────────────────────────────────────────────────

	private idleContexts(): PooledContext[] {
		return this.contexts().filter(c => !c.session && !c.recycling && !c.broken);
	}

	/**
	 * The idle context of that signature cleared last: its renderer is the warm one. Rotating a load over more contexts
	 * than it keeps busy costs Chromium ~15 % more CPU per page (BENCHMARKS.md, "What rotating over more contexts
	 * costs"), so prepared contexts wait in reserve until the used ones are all busy. A shared group with no context of
	 * its own yet takes a never-used one of its identity (a prepared one): nothing is in it to share or to hide.
	 */
	private takeIdle(wanted: Wanted): PooledContext | undefined {
		let match: PooledContext | undefined;
		let fresh: PooledContext | undefined;
		for (const c of this.idleContexts()) {
			if (serves(c, wanted) && (!match || c.idleSince > match.idleSince)) match = c;
			else if (wanted.group !== undefined && c.uses === 0 && c.sharedGroup === undefined && c.signature === wanted.signature) fresh = c;
		}
		match ??= fresh;
		if (!match) return undefined;
		match.sharedGroup = wanted.group;
		// Taken at once: the caller awaits before it sets the session.
		match.session = PLACEHOLDER;
		return match;
	}

	/**
	 * A context for a session that holds a slot: an idle one of the same identity, else a new one on a browser with
	 * room, else the one being prepared, else room made by closing an idle context of another identity. Holding a slot
	 * guarantees one of these: there are never more contexts than slots, and the held slots are all taken.
	 */
	private async obtainContext(wanted: Wanted, options: BrowserContextOptions): Promise<{ pooled: PooledContext; warm: boolean }> {
		for (;;) {
			if (this.closed) throw poolClosed();
			const idle = this.takeIdle(wanted);
			if (idle) return { pooled: idle, warm: true };
			// A context being cleared is ready in tens of milliseconds; a new one costs hundreds and a process's memory,
			// and one being prepared is further along than a new one would be. Each such context is waited for by one
			// session at most: the others open a context of their own.
			const soonFree =
				this.contexts().filter(c => c.recycling && serves(c, wanted)).length + (wanted.signature === "" ? this.preparing.size : 0);
			if (soonFree > this.waitingForRecycle) {
				this.waitingForRecycle++;
				try {
					await this.nextContextFreed();
				} finally {
					this.waitingForRecycle--;
				}
				continue;
			}
			const owner = await this.browserWithRoom();
			// Checked again with no await before `createContext` takes the room: sessions asking at the same moment were
			// all told about the same browser.
			if (owner && !this.hasRoom(owner)) continue;
			if (owner) return { pooled: await this.createContext(owner, wanted, options), warm: false };
			if (this.preparing.size > 0) {
				await this.nextContextFreed();
				continue;
			}
			const other = this.idleContexts()[0];
			if (!other) throw new TaskError("No browser has room for another context", "retryable", ERROR_TYPES.BROWSER_TIMEOUT);
			other.session = PLACEHOLDER;
			await this.discard(other);
		}
	}

	/** A new context and its first page on `owner`; half-created ones are closed. */
	private async createContext(owner: PooledBrowser, wanted: Wanted, options: BrowserContextOptions): Promise<PooledContext> {
		const pooled: PooledContext = {
			id: newId(),
			owner,
			context: undefined as unknown as BrowserContext,
			page: undefined as unknown as Page,
			signature: wanted.signature,
			sharedGroup: wanted.group,
			uses: 0,
			session: PLACEHOLDER,
			origins: new Set(),
			broken: false,
			recycling: false,
			idleSince: 0,
			viewportChanged: false,
			permissions: options.permissions ?? [],
			listeners: []
		};
		owner.contexts.add(pooled);
		try {
			// A burst of new contexts (a new page each is a renderer process) queues here, not inside Chromium where
			// every one of them would slow down until they all miss their deadline.
			await this.creating.run(async () => {
				pooled.context = await withTimeout(owner.browser.newContext(options), this.options.operationTimeoutMillis, "new context");
				pooled.page = await withTimeout(pooled.context.newPage(), this.options.operationTimeoutMillis, "new page");
			});
		} catch (err) {
			owner.contexts.delete(pooled);
			if (pooled.context) await quietly(() => pooled.context.close(), this.options.operationTimeoutMillis);
			throw translateClosed(err, owner);
		}
		this.watchContext(pooled);
		pooled.listeners = [new ListenerBaseline(pooled.context), new ListenerBaseline(pooled.page)];
		return pooled;
	}

	private watchContext(pooled: PooledContext): void {
		const { context } = pooled;
		context.on("page", page => {
			if (page !== pooled.page) pooled.session?.pageOpened();
			this.watchPage(pooled, page);
		});
		this.watchPage(pooled, pooled.page);
		context.on("close", () => {
			pooled.broken = true;
		});
	}

	private watchPage(pooled: PooledContext, page: Page): void {
		page.on("framenavigated", frame => {
			const origin = originOf(frame.url());
			if (origin) pooled.origins.add(origin);
		});
		page.on("crash", () => {
			pooled.broken = true;
			pooled.session?.trip(new TaskError("The page's renderer crashed", "retryable", ERROR_TYPES.BROWSER_CRASHED, { browserId: pooled.owner.id }));
		});
	}

	private async discard(pooled: PooledContext): Promise<void> {
		pooled.broken = true;
		pooled.owner.contexts.delete(pooled);
		// Room on that browser: a session waiting for a context may create one now.
		this.contextFreed();
		// A crashed browser's contexts are gone with it; closing them would only wait for the timeout.
		if (pooled.owner.browser.isConnected()) await quietly(() => pooled.context.close(), this.options.operationTimeoutMillis);
		if (pooled.owner.retiring && ![...pooled.owner.contexts].some(c => c.session)) await this.closeBrowser(pooled.owner);
	}

	/**
	 * Closes a context that must not serve again and, for a default context under demand, prepares its successor at
	 * the same time. A worker's slot stays taken until this settles, so the slot's next task finds a context ready
	 * instead of waiting for a new one (every `maxContextUses` tasks, and after an aborted attempt). Never rejects.
	 */
	private async replace(pooled: PooledContext): Promise<void> {
		const discarding = this.discard(pooled);
		if (pooled.signature !== "" || this.closed || !this.warmWanted) return discarding;
		const successor = this.prepareOne(() => this.belowWorkerBound()).catch(err => this.logger.warn("could not prepare a browser context", err?.message));
		await Promise.all([discarding, successor]);
	}

	private onTrip(pooled: PooledContext, session: ActiveSession, err: Error, onFailure: (err: Error) => void): void {
		this.logger.warn(`session ${session.id} of task ${session.taskId}: ${err.message}`);
		pooled.broken = true;
		onFailure(err);
		// Closing the context at once frees its memory and stops whatever the page was doing.
		void quietly(() => pooled.context.close(), this.options.operationTimeoutMillis);
	}

	/** Keeps `warmContexts` default contexts ready while there is demand. */
	private async topUp(): Promise<void> {
		if (this.closed || !this.warmWanted || this.toppingUp) return;
		this.toppingUp = true;
		try {
			// Contexts being cleared count as ready: they are, in a moment.
			const ready = () => this.defaultContexts().filter(c => !c.session || c.recycling).length;
			const wanted = () => ready() < this.options.warmContexts && this.belowWorkerBound();
			while (!this.closed && this.warmWanted && wanted()) {
				if (this.contexts().length >= this.capacity) break;
				if (!(await this.prepareOne(wanted))) break;
			}
		} catch (err: any) {
			this.logger.warn("could not prepare a browser context", err?.message);
		} finally {
			this.toppingUp = false;
		}
	}
	private toppingUp = false;

	/** Live contexts of the default identity (the ones prepared ahead, and those a shared group took). */
	private defaultContexts(): PooledContext[] {
		return this.contexts().filter(c => c.signature === "" && !c.broken);
	}

	/** Fewer default contexts than the worker runs tasks at once: a prepared one could still be used. */
	private belowWorkerBound(): boolean {
		return this.defaultContexts().length < (this.options.workerConcurrency ?? Infinity);
	}

	/**
	 * Prepares one default context on a browser with room, if `stillWanted()` once that browser is found (sessions may
	 * have opened contexts of their own meanwhile). False when none was prepared.
	 */
	private async prepareOne(stillWanted: () => boolean): Promise<boolean> {
		const owner = await this.browserWithRoom();
		if (!owner || !stillWanted() || !this.hasRoom(owner)) return false;
		const { options } = contextOptions(undefined, this.version);
		const preparing = this.createContext(owner, PREPARED, options).then(pooled => {
			pooled.session = undefined;
		});
		this.preparing.add(preparing);
		try {
			await preparing;
			return true;
		} finally {
			this.preparing.delete(preparing);
			this.contextFreed();
		}
	}
	/** Warm contexts being created: a session waits for one rather than fail when the browsers are full. */
	private readonly preparing = new Set<Promise<void>>();
	private freedWaiters: (() => void)[] = [];
	/** Sessions waiting for a context that is being cleared. */
	private waitingForRecycle = 0;

	/** Every context of the live browsers. */
	private contexts(): PooledContext[] {
		const all: PooledContext[] = [];
		for (const b of this.browsers) if (!b.retiring && !b.closing) all.push(...b.contexts);
		return all;
	}

	/** Resolves when a context becomes idle or goes away (a cleared, prepared or discarded one). */
	private nextContextFreed(): Promise<void> {
		return new Promise(resolve => this.freedWaiters.push(resolve));
	}

	private contextFreed(): void {
		for (const resolve of this.freedWaiters.splice(0)) resolve();
	}

	// ── browsers ───────────────────────────────────────────────────────────────────────────────────────────

	private hasRoom(b: PooledBrowser): boolean {
		return !b.retiring && !b.closing && b.contexts.size < this.options.maxContextsPerBrowser;
	}

	/** The fullest live browser with room (fewer processes for the same work), else a new one; undefined when full. */
	private async browserWithRoom(): Promise<PooledBrowser | undefined> {
		for (;;) {
			if (this.closed) throw poolClosed();
			const live = [...this.browsers].filter(b => !b.retiring && !b.closing);
			const withRoom = live
				.filter(b => this.hasRoom(b))
				.sort((a, b) => b.contexts.size - a.contexts.size)[0];
			if (withRoom) return withRoom;
			if (this.launching) {
				await this.launching.catch(() => undefined);
				continue;
			}
			if (live.length >= this.options.maxBrowsers) return undefined;
			return this.launchOne();
		}
	}

	/** Launches a browser, one at a time: `launching` is the launch under way, for others to wait on. */
	private launchOne(): Promise<PooledBrowser> {
		return (this.launching ??= this.launch().finally(() => (this.launching = undefined)));
	}

	private async launch(): Promise<PooledBrowser> {
		const id = newId();
		const { browser, pid } = await launchChromium({
			executablePath: this.options.executablePath,
			proxyServer: this.options.proxyServer,
			timeoutMillis: this.options.launchTimeoutMillis,
			browserId: id
		}).catch(err => {
			this.launchError = err?.message ?? String(err);
			throw err;
		});
		this.launchError = undefined;
		this.version = browser.version();
		const pooled: PooledBrowser = {
			id,
			browser,
			pid,
			version: this.version,
			launchedAt: Date.now(),
			sessionsServed: 0,
			contexts: new Set(),
			retiring: false,
			closing: false,
			lastBusyAt: Date.now()
		};
		browser.on("disconnected", () => this.onDisconnected(pooled));
		this.browsers.add(pooled);
		this.logger.info("browser launched", { id, pid, version: this.version });
		return pooled;
	}

	private onDisconnected(pooled: PooledBrowser): void {
		if (!this.browsers.has(pooled)) return;
		this.browsers.delete(pooled);
		if (pooled.closing) return;
		this.crashes++;
		this.logger.warn(`browser ${pooled.id} (pid ${pooled.pid}) crashed or disconnected; replacing it`);
		for (const c of pooled.contexts) {
			c.broken = true;
			c.session?.trip(new BrowserCrashedError(pooled.id));
		}
		void this.topUp();
	}

	private async closeBrowser(pooled: PooledBrowser): Promise<void> {
		if (pooled.closing) return;
		pooled.closing = true;
		this.browsers.delete(pooled);
		try {
			await withTimeout(pooled.browser.close(), this.options.operationTimeoutMillis, "close browser");
		} catch {
			if (pooled.pid) {
				try {
					process.kill(pooled.pid, "SIGKILL");
				} catch {
					// Already gone.
				}
			}
		}
	}

	private closeIdleBrowsers(): void {
		const cutoff = Date.now() - this.options.browserIdleSecs * 1000;
		for (const b of [...this.browsers]) {
			if ([...b.contexts].some(c => c.session || c.recycling) || b.lastBusyAt > cutoff) continue;
			this.logger.debug("closing idle browser", { id: b.id });
			// Prepared contexts would relaunch it at once: warm-up waits for the next demand.
			this.warmWanted = false;
			void this.closeBrowser(b);
		}
		for (const b of [...this.browsers])
			if (b.retiring && ![...b.contexts].some(c => c.session || c.recycling)) void this.closeBrowser(b);
	}

	private async checkSessions(): Promise<void> {
		if (this.checking) return;
		this.checking = true;
		try {
			const held: ActiveSession[] = [];
			for (const b of this.browsers) for (const c of b.contexts) if (c.session && c.session !== PLACEHOLDER) held.push(c.session);
			await Promise.all(held.map(s => s.check()));
		} finally {
			this.checking = false;
		}
	}

	private recordAcquire(millis: number, warm: boolean): void {
		this.acquired++;
		if (warm) this.warmHits++;
		this.acquireMillis.push(millis);
		if (this.acquireMillis.length > ACQUIRE_SAMPLES) this.acquireMillis.shift();
	}
}

/** The kind of context a session asks for. */
interface Wanted {
	/** Identity and proxy. */
	signature: string;
	group?: string;
}

/** Whether `c` can serve a session that wants this: its identity, proxy and shared group. */
function serves(c: PooledContext, wanted: Wanted): boolean {
	return c.signature === wanted.signature && c.sharedGroup === wanted.group;
}

/** What the pool prepares ahead: the default identity, for no group yet. */
const PREPARED: Wanted = { signature: "" };

/** Marks a context taken while its session is being set up. */
const PLACEHOLDER = { id: "", placeholder: true, check: async () => undefined, trip: () => undefined, pageOpened: () => undefined } as unknown as ActiveSession;

function poolClosed(): TaskError {
	return new TaskError("The browser pool is shutting down", "retryable", ERROR_TYPES.BROWSER_POOL_CLOSED);
}

/** A call that failed because the browser went away is a crash of that browser (retryable), not a task error. */
function translateClosed(err: unknown, owner: PooledBrowser): unknown {
	const e = err as any;
	if (!owner.browser.isConnected() || /Target.*closed|Browser has been closed/i.test(e?.message ?? ""))
		return new BrowserCrashedError(owner.id);
	return err;
}
