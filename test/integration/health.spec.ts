import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { SERVICE_SCHEMAS } from "../../services";
import { testConfig, waitFor } from "../helpers/broker";

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
	let open!: () => void;
	const opened = new Promise<void>(resolve => (open = resolve));
	return { opened, open };
}

describe("GET /health follows the node's start and stop", () => {
	it("answers 503 starting until every local service has started, ok after, and 503 stopping while it drains", async () => {
		const started = gate();
		const drained = gate();
		const broker = new ServiceBroker(brokerOptions(testConfig()));
		broker.createService(SERVICE_SCHEMAS.api);
		// Stands for a service that is slow to start (a scheduler loading its store) and to drain (a worker finishing).
		broker.createService({
			name: "slow",
			async started() {
				await started.opened;
			}
		});
		(broker.getLocalService("slow") as any).drain = () => drained.opened;

		const starting = broker.start();
		try {
			const server = () => (broker.getLocalService("api") as any)?.server;
			await waitFor(() => server()?.listening, 10_000, "the gateway to listen");
			const health = async () => {
				const res = await fetch(`http://127.0.0.1:${server().address().port}/health`);
				return { status: res.status, body: (await res.json()) as any };
			};

			expect(await health()).toMatchObject({ status: 503, body: { status: "starting", nodeId: broker.nodeID } });

			started.open();
			await starting;
			expect(await health()).toMatchObject({ status: 200, body: { status: "ok" } });

			const stopping = broker.stop();
			await waitFor(() => broker.stopping, 10_000, "the broker to reach its drain");
			expect(await health()).toMatchObject({ status: 503, body: { status: "stopping" } });
			drained.open();
			await stopping;
		} finally {
			started.open();
			drained.open();
			await starting.catch(() => undefined);
			await broker.stop();
		}
	});
});
