/**
 * At most one report per `intervalMillis`; a report that comes sooner waits and is replaced by newer ones, and
 * `flush` sends the waiting one at once, so the last report is always delivered.
 */
export class ProgressThrottle<T> {
	private lastSent = -Infinity;
	private pending: T | null = null;
	private timer: NodeJS.Timeout | null = null;

	constructor(
		private readonly intervalMillis: number,
		private readonly send: (value: T) => void,
		private readonly now: () => number = Date.now
	) {}

	report(value: T): void {
		const wait = this.lastSent + this.intervalMillis - this.now();
		if (wait <= 0 && this.timer === null) {
			this.emit(value);
			return;
		}
		this.pending = value;
		if (this.timer === null) {
			this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
			this.timer.unref();
		}
	}

	flush(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (this.pending === null) return;
		const value = this.pending;
		this.pending = null;
		this.emit(value);
	}

	private emit(value: T): void {
		this.lastSent = this.now();
		this.send(value);
	}
}
