import type { BrowserContext, Disposable, Frame, Page } from "playwright";
import type { OriginStorage, ProfileState } from "../profile/profile-state";
import { originOf } from "../browser/origin";
import { withTimeout } from "../browser/timeouts";

const READ_LOCAL_STORAGE = "JSON.stringify(Object.entries(window.localStorage))";

/**
 * Puts a profile's cookies and localStorage into a browser context and reads them back, without the cost of
 * Playwright's `setStorageState`/`storageState` (which navigate a page to every origin: ~100 ms per origin here, a
 * renderer process each). localStorage is restored lazily: one init script per origin writes its items into the
 * first document of that origin, before the page's own scripts run, and is removed once that origin has been visited
 * (so later documents see what the site itself wrote). Reading back, an origin never visited still holds exactly what
 * was restored; a visited one is read from a page showing it, or from a throwaway page routed to an empty document.
 * Profiles that keep IndexedDB take Playwright's full (slower) path in both directions.
 */
export class StateKeeper {
	/** Restore scripts not yet run, by origin. */
	private readonly pending = new Map<string, Disposable | Promise<Disposable>>();
	/** Last known localStorage of each origin. */
	private readonly known = new Map<string, OriginStorage["localStorage"]>();
	/** Origins visited since their storage was last read: their `known` entry may be stale. */
	private readonly dirty = new Set<string>();

	constructor(
		private readonly context: BrowserContext,
		private readonly options: { indexedDB: boolean; timeoutMillis: number }
	) {}

	async restore(state: ProfileState): Promise<void> {
		this.context.on("page", page => this.watch(page));
		for (const page of this.context.pages()) this.watch(page);
		if (this.options.indexedDB) {
			await withTimeout(this.context.setStorageState(state), this.options.timeoutMillis, "restore storage state");
			for (const o of state.origins) this.known.set(o.origin, o.localStorage);
			for (const o of state.origins) this.dirty.add(o.origin);
			return;
		}
		const work: Promise<unknown>[] = [];
		if (state.cookies.length) work.push(this.context.addCookies(state.cookies));
		for (const { origin, localStorage } of state.origins) {
			this.known.set(origin, localStorage);
			if (localStorage.length === 0) continue;
			const items = JSON.stringify(localStorage.map(i => [i.name, i.value]));
			const script = `(() => { if (location.origin !== ${JSON.stringify(origin)}) return; try { for (const [k, v] of ${items}) localStorage.setItem(k, v); } catch {} })();`;
			const added = this.context.addInitScript({ content: script });
			this.pending.set(origin, added);
			work.push(added.then(d => this.pending.get(origin) === added && this.pending.set(origin, d)));
		}
		await withTimeout(Promise.all(work), this.options.timeoutMillis, "restore cookies and localStorage");
	}

	/** The context's cookies and the localStorage of every origin it holds, now. */
	async capture(): Promise<ProfileState> {
		if (this.options.indexedDB) {
			const state = await withTimeout(this.context.storageState({ indexedDB: true }), this.options.timeoutMillis, "capture storage state");
			return { cookies: state.cookies, origins: state.origins.filter(o => o.localStorage.length > 0 || (o as any).indexedDB?.length) };
		}
		const [cookies] = await Promise.all([
			withTimeout(this.context.cookies(), this.options.timeoutMillis, "read cookies"),
			...[...this.dirty].map(origin => this.refresh(origin))
		]);
		const origins: OriginStorage[] = [];
		for (const [origin, localStorage] of this.known) if (localStorage.length > 0) origins.push({ origin, localStorage });
		return { cookies, origins };
	}

	private watch(page: Page): void {
		page.on("framenavigated", frame => {
			const origin = originOf(frame.url());
			if (!origin) return;
			this.dirty.add(origin);
			const script = this.pending.get(origin);
			if (!script) return;
			// The document that just committed already ran it; later ones must see what the site wrote instead.
			this.pending.delete(origin);
			void Promise.resolve(script).then(d => d.dispose()).catch(() => undefined);
		});
	}

	/** Reads one origin's localStorage from a top-level page showing it, else from a throwaway page. */
	private async refresh(origin: string): Promise<void> {
		const showing = this.context.pages().find(p => !p.isClosed() && originOf(p.url()) === origin);
		const entries = showing ? await this.read(showing.mainFrame()).catch(() => undefined) : undefined;
		const items = entries ?? (await this.readDetached(origin));
		this.known.set(origin, items.map(([name, value]) => ({ name, value })));
		// Still open: it may change again.
		if (!showing) this.dirty.delete(origin);
	}

	private async read(frame: Frame): Promise<[string, string][]> {
		return JSON.parse(await withTimeout(frame.evaluate<string>(READ_LOCAL_STORAGE), this.options.timeoutMillis, "read localStorage"));
	}

	/** An origin no page shows any more: a page of its own, whose requests never leave the browser, reads it. */
	private async readDetached(origin: string): Promise<[string, string][]> {
		const page = await this.context.newPage();
		try {
			await page.route("**/*", route => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title></title>" }));
			await withTimeout(page.goto(`${origin}/`, { waitUntil: "commit" }), this.options.timeoutMillis, "open origin");
			return await this.read(page.mainFrame());
		} finally {
			await page.close().catch(() => undefined);
		}
	}
}
