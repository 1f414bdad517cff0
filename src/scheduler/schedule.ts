import { CronExpressionParser } from "cron-parser";
import { InvalidScheduleError } from "../errors";
import { isTimeZone } from "../validation";

/** Parses an ISO 8601 `runAt`; a bad one is a 422. */
export function parseRunAt(runAt: string): number {
	const millis = Date.parse(runAt);
	if (Number.isNaN(millis)) throw new InvalidScheduleError(`runAt is not an ISO 8601 date: "${runAt}"`, { runAt });
	return millis;
}

/** Epoch millis of the next firing of `cron` (5 or 6 fields) strictly after `after`, in `timeZone` (IANA). */
export function nextCronRun(cron: string, timeZone: string | null, after: number): number {
	if (timeZone) assertTimeZone(timeZone);
	assertFieldCount(cron);
	try {
		const it = CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: timeZone ?? "UTC" });
		return it.next().getTime();
	} catch (err: any) {
		throw new InvalidScheduleError(`Invalid cron expression "${cron}": ${err.message}`, { cron });
	}
}

/**
 * cron-parser fills missing fields with `*`, so "* * *" or "0" would fire every minute: a typo must not become a task
 * that runs 1440 times a day. Its `@daily`-style names are whole expressions.
 */
function assertFieldCount(cron: string): void {
	const fields = cron.trim().split(/\s+/).filter(Boolean).length;
	if (cron.trim().startsWith("@") ? fields !== 1 : fields !== 5 && fields !== 6)
		throw new InvalidScheduleError(
			`Invalid cron expression "${cron}": expected 5 fields (minute hour day month weekday), 6 with seconds first, ` +
				"or a name such as @daily",
			{ cron }
		);
}

function assertTimeZone(timeZone: string): void {
	if (!isTimeZone(timeZone)) throw new InvalidScheduleError(`Unknown time zone "${timeZone}"`, { timeZone });
}
