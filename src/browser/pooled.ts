import type { Browser, BrowserContext, CDPSession, Page } from "playwright";
import type { ListenerBaseline } from "./listeners";
import type { ActiveSession } from "./session";
import { withTimeout } from "./timeouts";

/** A browser of the pool, with the contexts it holds. */
export interface PooledBrowser {
	id: string;
	browser: Browser;
	pid?: number;
	version: string;
	launchedAt: number;
	sessionsServed: number;
	contexts: Set<PooledContext>;
	retiring: boolean;
	closing: boolean;
	lastBusyAt: number;
	/** Last memory reading. */
	memory?: { at: number; mb: number };
}

/** A context of the pool with its one tab, between tasks and during one. */
export interface PooledContext {
	id: string;
	owner: PooledBrowser;
	context: BrowserContext;
	page: Page;
	/**
	 * The identity and proxy it was created with ("" for the default ones the pool prepares). Contexts of equal
	 * signatures and shared groups are interchangeable.
	 */
	signature: string;
	/** The shared group it serves (`SessionRequest.sharedContext`): recycled without clearing. */
	sharedGroup?: string;
	uses: number;
	session?: ActiveSession;
	/** Origins whose storage the current session may have written. */
	origins: Set<string>;
	/** Must be replaced, not recycled. */
	broken: boolean;
	/** Being cleared for the next session. */
	recycling: boolean;
	/** When it was last cleared (0: never used): the context cleared last is handed out first. */
	idleSince: number;
	/** A session set its own viewport: put back on recycling. */
	viewportChanged: boolean;
	/** Permissions the context was created with. */
	permissions: string[];
	cdp?: Promise<CDPSession>;
	/** The listeners of the tab and the context before any task: the pool's own and Playwright's. */
	listeners: ListenerBaseline[];
}

/** The CDP session of a context's tab, opened once per tab. */
export function cdpOf(pooled: PooledContext, timeoutMillis: number): Promise<CDPSession> {
	pooled.cdp ??= withTimeout(pooled.context.newCDPSession(pooled.page), timeoutMillis, "cdp session");
	return pooled.cdp;
}
