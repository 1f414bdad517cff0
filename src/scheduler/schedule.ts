import { CronExpressionParser } from "cron-parser";
import { InvalidScheduleError } from "../errors";

/** Parses an ISO 8601 `runAt`; a bad one is a 422. */
export function parseRunAt(runAt: string): number {
	const millis = Date.parse(runAt);
	if (Number.isNaN(millis)) throw new InvalidScheduleError(`runAt is not an ISO 8601 date: "${runAt}"`, { runAt });
	return millis;
}

/** Epoch millis of the next firing of `cron` (5 or 6 fields) strictly after `after`, in `timeZone` (IANA). */
export function nextCronRun(cron: string, timeZone: string | null, after: number): number {
	if (timeZone) assertTimeZone(timeZone);
	try {
		const it = CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: timeZone ?? "UTC" });
		return it.next().getTime();
	} catch (err: any) {
		throw new InvalidScheduleError(`Invalid cron expression "${cron}": ${err.message}`, { cron });
	}
}

function assertTimeZone(timeZone: string): void {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone });
	} catch {
		throw new InvalidScheduleError(`Unknown time zone "${timeZone}"`, { timeZone });
	}
}
