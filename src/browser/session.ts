import type { BrowserContext, CDPSession, Page } from "playwright";
import { ERROR_TYPES, SessionLimitError } from "../errors";

/** Per-session limits (shared/seeds/001 §3.2). */
export interface SessionLimits {
	/** Most memory the context's renderers may hold, in MB. @default 512 */
	maxMemoryMb: number;
	/** Longest a session may stay open, in seconds. @default 300 */
	maxDurationSecs: number;
	/** Most pages a session may open, the first one included. @default 10 */
	maxPages: number;
}

/** What a task handler holds while it uses a browser. */
export interface PoolSession {
	readonly id: string;
	/** The session's first page, ready to navigate. */
	readonly page: Page;
	readonly context: BrowserContext;
	readonly browserId: string;
	/** Time from asking for the session to holding it. */
	readonly acquireMillis: number;
	/** True when a prepared context served it (no new context or page was created while the task waited). */
	readonly warm: boolean;
	/** Opens another page in the same context (counts towards `maxPages`). */
	newPage(): Promise<Page>;
	/** Last measured memory of the session's renderers, in MB (undefined before the first sample). */
	readonly memoryMb: number | undefined;
}

const MB = 1024 * 1024;

/**
 * One lease of a context by one task: tracks its pages, duration and memory, and trips its limits. Tripping calls
 * `onTrip` (the pool aborts the attempt and closes the context); it happens at most once.
 */
export class ActiveSession implements PoolSession {
	readonly startedAt = Date.now();
	pagesOpened = 1;
	memoryBytes: number | undefined;
	tripped?: Error;
	private readonly cdp = new WeakMap<Page, Promise<CDPSession>>();

	constructor(
		readonly id: string,
		readonly taskId: string,
		readonly page: Page,
		readonly context: BrowserContext,
		readonly browserId: string,
		readonly acquireMillis: number,
		readonly warm: boolean,
		readonly limits: SessionLimits,
		private readonly onTrip: (session: ActiveSession, err: Error) => void,
		/** A CDP session for a page (the pool keeps one per tab; other pages get their own). */
		private readonly cdpFor: (page: Page) => Promise<CDPSession>
	) {}

	get memoryMb(): number | undefined {
		return this.memoryBytes === undefined ? undefined : Math.round((this.memoryBytes / MB) * 10) / 10;
	}

	async newPage(): Promise<Page> {
		return this.context.newPage();
	}

	/** A page opened in the context (by the handler, or a popup). */
	pageOpened(): void {
		this.pagesOpened++;
		if (this.pagesOpened > this.limits.maxPages)
			this.trip(
				new SessionLimitError(ERROR_TYPES.SESSION_PAGE_LIMIT, `Session opened more than ${this.limits.maxPages} pages`, {
					maxPages: this.limits.maxPages
				})
			);
	}

	trip(err: Error): void {
		if (this.tripped) return;
		this.tripped = err;
		this.onTrip(this, err);
	}

	/** Checks duration and samples memory; called periodically by the pool while the session is held. */
	async check(): Promise<void> {
		const ageSecs = (Date.now() - this.startedAt) / 1000;
		if (ageSecs > this.limits.maxDurationSecs) {
			this.trip(
				new SessionLimitError(ERROR_TYPES.SESSION_DURATION_LIMIT, `Session ran longer than ${this.limits.maxDurationSecs} s`, {
					maxDurationSecs: this.limits.maxDurationSecs
				})
			);
			return;
		}
		const bytes = await this.measureMemory();
		if (bytes === undefined || this.tripped) return;
		this.memoryBytes = bytes;
		if (bytes > this.limits.maxMemoryMb * MB)
			this.trip(
				new SessionLimitError(
					ERROR_TYPES.SESSION_MEMORY_LIMIT,
					`Session used ${Math.round(bytes / MB)} MB, over its limit of ${this.limits.maxMemoryMb} MB`,
					{ memoryMb: Math.round(bytes / MB), maxMemoryMb: this.limits.maxMemoryMb }
				)
			);
	}

	/**
	 * Memory of the renderers that hold this context's pages: V8 heap, embedder (DOM) heap and ArrayBuffer backing
	 * stores of each page's isolate, read with CDP `Runtime.getHeapUsage`. Contexts never share a renderer process,
	 * so these figures belong to this session alone (Chromium exposes no page → pid mapping for a per-process RSS).
	 */
	private async measureMemory(): Promise<number | undefined> {
		let total = 0;
		let measured = false;
		await Promise.all(
			this.context.pages().map(async page => {
				try {
					let session = this.cdp.get(page);
					if (!session) {
						session = this.cdpFor(page);
						this.cdp.set(page, session);
					}
					const usage: any = await (await session).send("Runtime.getHeapUsage" as any);
					total += (usage.totalSize ?? 0) + (usage.embedderHeapUsedSize ?? 0) + (usage.backingStorageSize ?? 0);
					measured = true;
				} catch {
					// The page closed or is navigating between processes: measured at the next sample.
				}
			})
		);
		return measured ? total : undefined;
	}
}
