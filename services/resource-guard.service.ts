import type { ServiceSchema } from "moleculer";
import { LoadSampler } from "../src/resource-guard/load-sampler";

/** Node-local load sampling (CPU, memory, event-loop delay). One per node. */
const ResourceGuardService: ServiceSchema = {
	name: "resource-guard",

	actions: {
		/** This node's load since the previous sample. */
		load(this: any) {
			return { nodeId: this.broker.nodeID, ...this.sampler.sample() };
		}
	},

	created(this: any) {
		this.sampler = new LoadSampler();
	},

	started(this: any) {
		this.sampler.start();
	},

	stopped(this: any) {
		this.sampler.stop();
	}
};

export default ResourceGuardService;
