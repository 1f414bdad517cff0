/** What Playwright's pages and contexts inherit from its EventEmitter (Node's API; its types declare less of it). */
interface Emitter {
	eventNames(): (string | symbol)[];
	rawListeners(event: string | symbol): Function[];
	removeListener(event: string | symbol, listener: (...args: any[]) => void): unknown;
}

/**
 * The listeners an emitter holds at one moment; `restore()` removes every listener added since. A task handler's
 * listeners on its tab or context must not outlive the task, but Playwright keeps listeners of its own on the same
 * events (a context's `close` settles `context.close()`; a page's `close` and `crash` end its pending calls), so
 * removing all listeners of an event breaks Playwright: `context.close()` then waited out its deadline.
 */
export class ListenerBaseline {
	private readonly kept = new Map<string | symbol, Set<Function>>();
	private readonly emitter: Emitter;

	/** `target`: a Playwright `Page` or `BrowserContext`. */
	constructor(target: object) {
		const emitter = target as Partial<Emitter>;
		if (typeof emitter.eventNames !== "function" || typeof emitter.rawListeners !== "function" || typeof emitter.removeListener !== "function")
			throw new Error("this Playwright's pages and contexts have no EventEmitter API: the pool cannot remove a task's listeners");
		this.emitter = emitter as Emitter;
		for (const event of this.emitter.eventNames()) this.kept.set(event, new Set(this.emitter.rawListeners(event)));
	}

	restore(): void {
		for (const event of this.emitter.eventNames()) {
			const kept = this.kept.get(event);
			// Raw listeners: a `once` wrapper is removed as it was added.
			for (const listener of this.emitter.rawListeners(event))
				if (!kept?.has(listener)) this.emitter.removeListener(event, listener as (...args: any[]) => void);
		}
	}
}
