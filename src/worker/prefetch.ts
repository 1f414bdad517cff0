/** Weight of the newest sample in the moving averages: about the last ten samples count. */
const WEIGHT = 0.2;

/**
 * How many tasks a worker leases ahead of its free slots. Short tasks end faster than a lease travels to the
 * scheduler and back, so slots freed one by one would each wait a round trip; holding enough leased tasks to keep
 * every slot busy for one round trip (the bandwidth-delay product: slots × round trip ÷ task duration) hides that
 * wait and lets one lease carry many tasks. When less than one task ends per round trip there is no prefetch at all
 * (browser tasks take tens of round trips): tasks stay in the queue for whichever worker frees a slot first. Nothing
 * is prefetched before both figures have been measured.
 */
export class Prefetch {
	private roundTripMillis?: number;
	private attemptMillis?: number;

	constructor(private readonly max: number) {}

	/** A lease call took this long, from asking to the answer. */
	leaseTook(millis: number): void {
		this.roundTripMillis = average(this.roundTripMillis, millis);
	}

	/** An attempt ran this long on this worker. */
	attemptTook(millis: number): void {
		this.attemptMillis = average(this.attemptMillis, millis);
	}

	/** Tasks to hold beyond `slots`. */
	depth(slots: number): number {
		if (this.max === 0 || this.roundTripMillis === undefined || this.attemptMillis === undefined) return 0;
		const covering = Math.floor((slots * this.roundTripMillis) / Math.max(this.attemptMillis, 0.001));
		return Math.min(this.max, covering);
	}
}

function average(current: number | undefined, sample: number): number {
	return current === undefined ? sample : current + WEIGHT * (sample - current);
}
