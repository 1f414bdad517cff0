import type { BrowserContext, Page } from "playwright";
import { cdpOf, type PooledContext } from "./pooled";
import { quietly, withTimeout } from "./timeouts";

/** Playwright's default viewport, which every context starts with. */
const DEFAULT_VIEWPORT = { width: 1280, height: 720 };

/**
 * Clears what a session left, keeping the context and its tab (a new tab costs a new renderer process per task):
 * other pages closed, the handler's routes and its page and context listeners removed, the tab sent to about:blank,
 * history cut to that one entry, the HTTP cache emptied (unless `clearHttpCache` is false), and cookies, permissions
 * and every storage of every origin the session visited cleared (local and session storage, IndexedDB, cache
 * storage, files, service workers). Leaving the document first is what makes the clearing hold: its timers and
 * workers end with it, so nothing writes storage again once it is cleared (a frozen page's timers went on running).
 * A page that cannot be left within the timeout rejects, and the pool replaces the context.
 */
export async function clearContext(pooled: PooledContext, options: { timeoutMillis: number; clearHttpCache: boolean }): Promise<void> {
	const timeout = options.timeoutMillis;
	const { context, page } = pooled;
	// A dialog listener left by the handler that answers nothing would keep a beforeunload prompt open, and the leave
	// below wait for it (without one Playwright accepts it): the listeners go first.
	await dropOtherPagesAndListeners(pooled, timeout);
	// Until load, not just commit: right after the commit the tab's CDP session sometimes still answers "Not
	// attached to an active page" to the history reset below.
	await page.goto("about:blank", { timeout });
	const cdp = await cdpOf(pooled, timeout);
	const origins = [...pooled.origins];
	pooled.origins.clear();
	// Independent of each other: one round of calls, not one after the other.
	await withTimeout(
		Promise.all([
			...undoHandlerSetup(pooled),
			cdp.send("Page.resetNavigationHistory"),
			context.clearCookies(),
			// A fresh context has an empty HTTP cache: a cached response, or the ETag a site set in it, would tell the
			// site that another task came before. Cleared for this context only.
			options.clearHttpCache ? cdp.send("Network.clearBrowserCache") : undefined,
			// Permissions the fingerprint grants (geolocation) come back; what the handler granted does not.
			context.clearPermissions().then(() => (pooled.permissions.length ? context.grantPermissions(pooled.permissions) : undefined)),
			...origins.map(origin => cdp.send("Storage.clearDataForOrigin", { origin, storageTypes: "all" }))
		]),
		timeout,
		"clear context"
	);
	pooled.viewportChanged = false;
}

/**
 * Readies a shared group's context for the group's next task: what the handler set up on the tab goes (other pages,
 * routes, listeners, a viewport of its own); what the sites left stays (cookies, storage, HTTP cache, the page
 * itself, whose next navigation ends it), as it does for one tab used for a whole crawl.
 */
export async function resetSharedContext(pooled: PooledContext, timeoutMillis: number): Promise<void> {
	await dropOtherPagesAndListeners(pooled, timeoutMillis);
	pooled.origins.clear();
	await withTimeout(Promise.all(undoHandlerSetup(pooled)), timeoutMillis, "reset shared context");
	pooled.viewportChanged = false;
}

/** Pages the handler opened are closed; listeners it added would see the next task's traffic. */
async function dropOtherPagesAndListeners(pooled: PooledContext, timeoutMillis: number): Promise<void> {
	for (const p of pooled.context.pages()) if (p !== pooled.page) await quietly(() => p.close(), timeoutMillis);
	for (const baseline of pooled.listeners) baseline.restore();
}

/** The calls that undo the handler's routes and viewport. */
function undoHandlerSetup(pooled: PooledContext): Promise<unknown>[] {
	const { context, page } = pooled;
	const calls: Promise<unknown>[] = [];
	if (hasRoutes(page)) calls.push(page.unrouteAll({ behavior: "ignoreErrors" }));
	if (hasRoutes(context)) calls.push(context.unrouteAll({ behavior: "ignoreErrors" }));
	if (pooled.viewportChanged) calls.push(page.setViewportSize(DEFAULT_VIEWPORT));
	return calls;
}

/**
 * Whether a handler left routes on a page or context. `unrouteAll` costs a round trip through every target even with
 * no routes, so it is skipped then; if Playwright's internal list ever moves, every recycle unroutes (safe, slower).
 */
function hasRoutes(target: Page | BrowserContext): boolean {
	const routes = (target as any)._routes;
	return !Array.isArray(routes) || routes.length > 0;
}
