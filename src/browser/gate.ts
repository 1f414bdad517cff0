/** At most `limit` holders at once; the others wait in arrival order. */
export class Gate {
	private held = 0;
	private readonly waiting: (() => void)[] = [];

	constructor(private readonly limit: number) {}

	async run<T>(work: () => Promise<T>): Promise<T> {
		if (this.held >= this.limit) await new Promise<void>(resolve => this.waiting.push(resolve));
		else this.held++;
		try {
			return await work();
		} finally {
			const next = this.waiting.shift();
			// The slot passes straight to the next waiter: `held` stays the same.
			if (next) next();
			else this.held--;
		}
	}
}
