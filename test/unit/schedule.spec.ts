import { nextCronRun } from "../../src/scheduler/schedule";

const at = Date.parse("2026-12-01T01:22:47.975Z");

describe("nextCronRun", () => {
	it("takes 5 fields, 6 with seconds, and named schedules", () => {
		expect(new Date(nextCronRun("*/5 * * * *", null, at)).toISOString()).toBe("2026-12-01T01:25:00.000Z");
		expect(new Date(nextCronRun("30 * * * * *", null, at)).toISOString()).toBe("2026-12-01T01:23:30.000Z");
		expect(new Date(nextCronRun("@daily", null, at)).toISOString()).toBe("2026-12-02T00:00:00.000Z");
		expect(new Date(nextCronRun("0 9 * * MON-FRI", "Europe/Berlin", at)).toISOString()).toBe("2026-12-01T08:00:00.000Z");
	});

	it.each(["", "*", "* * *", "0 0 * *", "* * * * * * *", "@daily *", "every day", "61 * * * *"])(
		"refuses %j with INVALID_SCHEDULE",
		cron => expect(() => nextCronRun(cron, null, at)).toThrow(expect.objectContaining({ type: "INVALID_SCHEDULE", code: 422 }))
	);
});
