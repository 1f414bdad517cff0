import net from "node:net";
import { MongoStore } from "../../src/store/mongo-store";

describe("MongoStore without a server", () => {
	it("answers 503 STORE_UNAVAILABLE, which clients may retry, instead of a 500", async () => {
		// A port nothing listens on.
		const port = await new Promise<number>(resolve => {
			const srv = net.createServer().listen(0, "127.0.0.1", () => {
				const p = (srv.address() as net.AddressInfo).port;
				srv.close(() => resolve(p));
			});
		});
		const store = new MongoStore(`mongodb://127.0.0.1:${port}/nightshift`, 200);
		try {
			await expect(store.collection("tasks").findById("x")).rejects.toMatchObject({ code: 503, type: "STORE_UNAVAILABLE", retryable: true });
			expect(await store.ping()).toBe(false);
		} finally {
			await store.close();
		}
	});
});
