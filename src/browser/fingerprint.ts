import type { BrowserContextOptions } from "playwright";
import { TIME_ZONE_RULE } from "../validation";

/** How a context presents itself (shared/seeds/001 §3.2 anti-detection). Everything optional. */
export interface Fingerprint {
	userAgent?: string;
	viewport?: { width: number; height: number };
	locale?: string;
	timezoneId?: string;
	deviceScaleFactor?: number;
	colorScheme?: "light" | "dark" | "no-preference";
	geolocation?: { latitude: number; longitude: number; accuracy?: number };
	/** Fill what is not given with a consistent random choice (user agent, viewport, locale + time zone). */
	randomize?: boolean;
}

/** fastest-validator schema of a fingerprint, shared by every task type and route that takes one. */
export const FINGERPRINT_SCHEMA = {
	type: "object",
	optional: true,
	strict: "remove",
	props: {
		userAgent: { type: "string", optional: true, min: 1, max: 512 },
		viewport: {
			type: "object",
			optional: true,
			props: { width: { type: "number", integer: true, min: 200, max: 7680 }, height: { type: "number", integer: true, min: 200, max: 4320 } }
		},
		locale: { type: "string", optional: true, pattern: /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/ },
		timezoneId: { ...TIME_ZONE_RULE, optional: true },
		deviceScaleFactor: { type: "number", optional: true, min: 0.5, max: 4 },
		colorScheme: { type: "enum", optional: true, values: ["light", "dark", "no-preference"] },
		geolocation: {
			type: "object",
			optional: true,
			props: {
				latitude: { type: "number", min: -90, max: 90 },
				longitude: { type: "number", min: -180, max: 180 },
				accuracy: { type: "number", optional: true, min: 0 }
			}
		},
		randomize: { type: "boolean", optional: true }
	}
} as const;

const PLATFORMS = [
	"Windows NT 10.0; Win64; x64",
	"Macintosh; Intel Mac OS X 10_15_7",
	"X11; Linux x86_64"
];
const VIEWPORTS = [
	{ width: 1920, height: 1080 },
	{ width: 1536, height: 864 },
	{ width: 1440, height: 900 },
	{ width: 1366, height: 768 },
	{ width: 1280, height: 800 }
];
/** Locale and time zone chosen together: a German locale in Tokyo time is itself a tell. */
const PLACES = [
	{ locale: "en-US", timezoneId: "America/New_York" },
	{ locale: "en-US", timezoneId: "America/Los_Angeles" },
	{ locale: "en-GB", timezoneId: "Europe/London" },
	{ locale: "de-DE", timezoneId: "Europe/Berlin" },
	{ locale: "fr-FR", timezoneId: "Europe/Paris" }
];

const pick = <T>(list: T[], random: () => number): T => list[Math.floor(random() * list.length)];

/**
 * Context options for a fingerprint, and a signature: contexts with equal signatures are interchangeable, so the pool
 * reuses warm contexts across tasks that ask for the same identity. The viewport is per page, not part of it.
 */
export function contextOptions(
	fingerprint: Fingerprint | undefined,
	browserVersion: string,
	random: () => number = Math.random
): { options: BrowserContextOptions; signature: string; viewport?: { width: number; height: number } } {
	const fp: Fingerprint = { ...fingerprint };
	if (fp.randomize) {
		const major = browserVersion.split(".")[0] || "120";
		fp.userAgent ??= `Mozilla/5.0 (${pick(PLATFORMS, random)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
		fp.viewport ??= pick(VIEWPORTS, random);
		if (!fp.locale && !fp.timezoneId) Object.assign(fp, pick(PLACES, random));
	}
	const options: BrowserContextOptions = { serviceWorkers: "block" };
	if (fp.userAgent) options.userAgent = fp.userAgent;
	if (fp.locale) options.locale = fp.locale;
	if (fp.timezoneId) options.timezoneId = fp.timezoneId;
	if (fp.deviceScaleFactor) options.deviceScaleFactor = fp.deviceScaleFactor;
	if (fp.colorScheme) options.colorScheme = fp.colorScheme;
	if (fp.geolocation) {
		options.geolocation = fp.geolocation;
		options.permissions = ["geolocation"];
	}
	const { serviceWorkers: _sw, ...identity } = options;
	const signature = Object.keys(identity).length === 0 ? "" : JSON.stringify(identity);
	return { options, signature, viewport: fp.viewport };
}
