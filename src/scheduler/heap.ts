/** A binary min-heap by `before(a, b)`; `remove` is O(n), kept for the rare cancel of a waiting entry. */
export class Heap<T> {
	private readonly items: T[] = [];

	constructor(private readonly before: (a: T, b: T) => boolean) {}

	get size(): number {
		return this.items.length;
	}

	peek(): T | undefined {
		return this.items[0];
	}

	push(item: T): void {
		const items = this.items;
		items.push(item);
		let i = items.length - 1;
		while (i > 0) {
			const parent = (i - 1) >> 1;
			if (!this.before(items[i], items[parent])) break;
			[items[i], items[parent]] = [items[parent], items[i]];
			i = parent;
		}
	}

	pop(): T | undefined {
		const items = this.items;
		if (items.length === 0) return undefined;
		const top = items[0];
		const last = items.pop()!;
		if (items.length > 0) {
			items[0] = last;
			this.siftDown(0);
		}
		return top;
	}

	remove(item: T): boolean {
		const i = this.items.indexOf(item);
		if (i < 0) return false;
		const last = this.items.pop()!;
		if (i < this.items.length) {
			this.items[i] = last;
			this.siftDown(i);
			// The moved item may also belong higher up.
			let j = i;
			while (j > 0) {
				const parent = (j - 1) >> 1;
				if (!this.before(this.items[j], this.items[parent])) break;
				[this.items[j], this.items[parent]] = [this.items[parent], this.items[j]];
				j = parent;
			}
		}
		return true;
	}

	private siftDown(i: number): void {
		const items = this.items;
		const n = items.length;
		for (;;) {
			const l = 2 * i + 1;
			const r = l + 1;
			let best = i;
			if (l < n && this.before(items[l], items[best])) best = l;
			if (r < n && this.before(items[r], items[best])) best = r;
			if (best === i) return;
			[items[i], items[best]] = [items[best], items[i]];
			i = best;
		}
	}
}
