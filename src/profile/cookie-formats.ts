/**
 * Cookie import and export in the formats people actually have at hand: Playwright / CDP JSON (storageState too),
 * the JSON of browser extensions (EditThisCookie, Cookie-Editor) and Netscape cookies.txt (curl, wget, yt-dlp).
 */
import { Errors } from "moleculer";

/** Playwright's cookie, the shape profiles store. */
export interface Cookie {
	name: string;
	value: string;
	domain: string;
	path: string;
	/** Unix seconds; -1 for a session cookie. */
	expires: number;
	httpOnly: boolean;
	secure: boolean;
	sameSite: "Strict" | "Lax" | "None";
}

export type CookieFormat = "json" | "extension" | "netscape";

/** One problem in a cookie file: `line` is 1-based (Netscape, and JSON syntax errors), `entry` 0-based (JSON). */
export interface CookieFileProblem {
	line?: number;
	entry?: number;
	field?: string;
	message: string;
}

export const MAX_COOKIES = 10000;
const MAX_REPORTED_PROBLEMS = 20;

export class CookieFormatError extends Errors.MoleculerClientError {
	/** `format` is null when the text matched none of the formats; `total` counts problems past those listed. */
	constructor(format: CookieFormat | null, errors: CookieFileProblem[], total = errors.length) {
		const first = errors[0];
		const more = total > 1 ? ` (and ${total - 1} more)` : "";
		super(`Cookie file is not valid: ${describe(first)}${more}`, 422, "INVALID_COOKIE_FILE", {
			format,
			errors: errors.slice(0, MAX_REPORTED_PROBLEMS)
		});
	}
}

function describe(problem: CookieFileProblem): string {
	if (problem.line !== undefined) return `line ${problem.line}: ${problem.message}`;
	if (problem.entry !== undefined) return `entry ${problem.entry}: ${problem.message}`;
	return problem.message;
}

export function parseCookies(text: string): { format: CookieFormat; cookies: Cookie[] } {
	const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
	const start = source.trimStart();
	if (start === "") throw new CookieFormatError(null, [{ message: "the file is empty" }]);
	if (start[0] === "[" || start[0] === "{") return parseJson(source);
	const lines = source.split(/\r?\n/);
	if (/^# (Netscape )?HTTP Cookie File/i.test(start) || lines.some((line) => line.includes("\t")))
		return { format: "netscape", cookies: parseNetscape(lines) };
	throw new CookieFormatError(null, [
		{ message: "unknown format: expected a JSON array of cookies, Playwright storage state, or a Netscape cookies.txt file" }
	]);
}

export function formatCookies(cookies: Cookie[], format: CookieFormat): string {
	switch (format) {
		case "json":
			return JSON.stringify(cookies.map(toPlaywright), null, 2) + "\n";
		case "extension":
			return JSON.stringify(cookies.map(toExtension), null, 2) + "\n";
		case "netscape":
			return ["# Netscape HTTP Cookie File", ...cookies.map(toNetscapeLine)].join("\n") + "\n";
		default:
			throw new Error(`Unknown cookie format "${format as string}"`);
	}
}

/** Collects problems up to the reporting limit; past it only counts, so a huge broken file stays cheap to reject. */
class Problems {
	readonly list: CookieFileProblem[] = [];
	count = 0;
	add(problem: CookieFileProblem): void {
		this.count++;
		if (this.list.length < MAX_REPORTED_PROBLEMS) this.list.push(problem);
	}
	throwIfAny(format: CookieFormat): void {
		if (this.count > 0) throw new CookieFormatError(format, this.list, this.count);
	}
}

// ---------------------------------------------------------------------------------------------------------------
// JSON: Playwright / CDP and browser-extension entries, decided per entry since hand-merged files mix them.

function parseJson(source: string): { format: CookieFormat; cookies: Cookie[] } {
	let root: unknown;
	try {
		root = JSON.parse(source);
	} catch (err) {
		throw new CookieFormatError("json", [jsonSyntaxProblem(source, err as Error)]);
	}
	const entries = Array.isArray(root)
		? root
		: typeof root === "object" && root !== null && Array.isArray((root as { cookies?: unknown }).cookies)
			? (root as { cookies: unknown[] }).cookies
			: null;
	if (!entries) throw new CookieFormatError("json", [{ message: 'expected a JSON array of cookies or an object with a "cookies" array' }]);
	if (entries.length === 0) throw new CookieFormatError("json", [{ message: "the file holds no cookies" }]);
	if (entries.length > MAX_COOKIES)
		throw new CookieFormatError("json", [{ message: `too many cookies: ${entries.length}, at most ${MAX_COOKIES}` }]);

	const problems = new Problems();
	const cookies: Cookie[] = [];
	let extensionEntries = 0;
	entries.forEach((entry, index) => {
		if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
			const got = Array.isArray(entry) ? "an array" : entry === null ? "null" : typeof entry;
			problems.add({ entry: index, message: `expected a cookie object, got ${got}` });
			return;
		}
		const record = entry as Record<string, unknown>;
		const extension = isExtensionEntry(record);
		if (extension) extensionEntries++;
		const cookie = jsonEntry(record, extension, (field, message) => problems.add({ entry: index, field, message }));
		if (cookie) cookies.push(cookie);
	});
	// The format names what the file mostly is; it is what an export in "the same format" should produce.
	const format: CookieFormat = extensionEntries * 2 > entries.length ? "extension" : "json";
	problems.throwIfAny(format);
	return { format, cookies };
}

/** Fields only extensions write. CDP has `session` too, but always next to `expires`. */
function isExtensionEntry(entry: Record<string, unknown>): boolean {
	return "expirationDate" in entry || "hostOnly" in entry || "storeId" in entry || ("session" in entry && !("expires" in entry));
}

function jsonEntry(entry: Record<string, unknown>, extension: boolean, problem: (field: string, message: string) => void): Cookie | null {
	let ok = true;
	const fail = (field: string, message: string) => {
		ok = false;
		problem(field, message);
	};
	const text = (field: "name" | "value" | "domain" | "path", required: boolean, fallback: string): string => {
		const raw = entry[field];
		if (raw === undefined || raw === null) {
			if (required) fail(field, `${field} is missing`);
			return fallback;
		}
		if (typeof raw !== "string") {
			fail(field, `${field} must be a string, got ${typeof raw}`);
			return fallback;
		}
		// A line break in a cookie would split it into forged cookies once exported to cookies.txt.
		if (/[\x00-\x1f\x7f]/.test(raw)) fail(field, `${field} contains control characters`);
		return raw;
	};
	const flag = (field: string): boolean => {
		const raw = entry[field];
		if (raw === undefined || raw === null) return false;
		if (typeof raw !== "boolean") fail(field, `${field} must be true or false, got ${shown(raw)}`);
		return raw === true;
	};

	const name = text("name", true, "");
	if (entry.name === "") fail("name", "name is empty");
	const value = text("value", true, "");
	let domain = text("domain", true, "");
	if (entry.domain === "") fail("domain", "domain is empty");
	const path = text("path", false, "/") || "/";
	const httpOnly = flag("httpOnly");
	const secure = flag("secure");
	const sameSite = sameSiteOf(entry.sameSite, fail);

	let expires = -1;
	if (extension) {
		const session = flag("session");
		const hostOnly = entry.hostOnly;
		if (hostOnly !== undefined && hostOnly !== null && typeof hostOnly !== "boolean")
			fail("hostOnly", `hostOnly must be true or false, got ${shown(hostOnly)}`);
		// Playwright has no hostOnly: a leading dot is what makes a cookie apply to subdomains.
		if (hostOnly === true) domain = domain.replace(/^\.+/, "");
		else if (hostOnly === false && domain && !domain.startsWith(".")) domain = "." + domain;
		const raw = entry.expirationDate;
		if (raw !== undefined && raw !== null) {
			if (typeof raw !== "number" || !Number.isFinite(raw))
				fail("expirationDate", `expirationDate must be a number of seconds, got ${shown(raw)}`);
			else if (!session) expires = raw;
		}
	} else {
		const raw = entry.expires;
		if (raw !== undefined && raw !== null) {
			if (typeof raw !== "number" || !Number.isFinite(raw)) fail("expires", `expires must be a number of seconds, got ${shown(raw)}`);
			else expires = raw;
		}
		if (entry.session === true) expires = -1;
	}
	// Playwright refuses negative expiries other than -1; CDP and some tools write 0 or -2 for session cookies.
	if (expires <= 0) expires = -1;

	return ok ? { name, value, domain, path, expires, httpOnly, secure, sameSite } : null;
}

const SAME_SITE: Record<string, Cookie["sameSite"]> = {
	strict: "Strict",
	lax: "Lax",
	none: "None",
	no_restriction: "None",
	// What Chromium applies to cookies that name no SameSite.
	unspecified: "Lax"
};

/** A misplaced value for an error message, cut short: it may be a cookie value pasted into the wrong field. */
function shown(raw: unknown): string {
	const json = JSON.stringify(raw) ?? String(raw);
	return json.length > 40 ? json.slice(0, 37) + "..." : json;
}

function sameSiteOf(raw: unknown, fail: (field: string, message: string) => void): Cookie["sameSite"] {
	if (raw === undefined || raw === null || raw === "") return "Lax";
	const mapped = typeof raw === "string" ? SAME_SITE[raw.toLowerCase()] : undefined;
	if (mapped) return mapped;
	fail("sameSite", `unknown sameSite ${shown(raw)}: expected Strict, Lax, None, no_restriction or unspecified`);
	return "Lax";
}

/**
 * Where JSON.parse gave up, as a line number. Its own messages carry a position only sometimes, and then quote
 * the input, which here is cookie values: better not in errors and logs.
 */
function jsonSyntaxProblem(source: string, err: Error): CookieFileProblem {
	const found = findJsonError(source);
	if (!found) return { message: `invalid JSON: ${err.message.replace(/, ".*" is not valid JSON$/s, "")}` };
	const before = source.slice(0, found.at);
	const line = before.split("\n").length;
	const column = found.at - before.lastIndexOf("\n");
	return { line, message: `invalid JSON at column ${column}: ${found.message}` };
}

/** A JSON grammar check that reports the offset of the first error. Only runs on text JSON.parse refused. */
function findJsonError(s: string): { at: number; message: string } | null {
	let i = 0;
	class Stop {
		constructor(
			readonly at: number,
			readonly message: string
		) {}
	}
	// One character of the input at most: quoting more could put a cookie value into the message.
	const here = (): string =>
		i >= s.length
			? "the end of the input"
			: /[\x21-\x7e]/.test(s[i])
				? `"${s[i]}"`
				: `character U+${s.charCodeAt(i).toString(16).padStart(4, "0")}`;
	const ws = () => {
		while (i < s.length && " \t\n\r".includes(s[i])) i++;
	};
	const string = () => {
		i++;
		for (;;) {
			if (i >= s.length) throw new Stop(i, "unterminated string");
			const c = s.charCodeAt(i);
			if (c === 0x22) return void i++;
			if (c < 0x20) throw new Stop(i, "unescaped control character in string");
			if (c === 0x5c) {
				const e = s[i + 1];
				if (e === "u") {
					if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) throw new Stop(i, "bad \\u escape in string");
					i += 6;
				} else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
				else throw new Stop(i, "bad escape in string");
			} else i++;
		}
	};
	const value = (depth: number): void => {
		if (depth > 1000) throw new Stop(i, "nested too deeply");
		ws();
		const c = s[i];
		if (c === "{" || c === "[") {
			const close = c === "{" ? "}" : "]";
			i++;
			ws();
			if (s[i] === close) return void i++;
			for (;;) {
				if (c === "{") {
					ws();
					if (s[i] !== '"') throw new Stop(i, `expected a double-quoted property name, got ${here()}`);
					string();
					ws();
					if (s[i] !== ":") throw new Stop(i, `expected ":" after a property name, got ${here()}`);
					i++;
				}
				value(depth + 1);
				ws();
				if (s[i] === ",") {
					i++;
					continue;
				}
				if (s[i] === close) return void i++;
				throw new Stop(i, `expected "," or "${close}", got ${here()}`);
			}
		}
		if (c === '"') return string();
		const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i, i + 400));
		if (!literal) throw new Stop(i, `unexpected ${here()}`);
		i += literal[0].length;
	};
	try {
		value(0);
		ws();
		if (i < s.length) throw new Stop(i, `unexpected ${here()} after the JSON value`);
		return null;
	} catch (err) {
		if (err instanceof Stop) return err;
		throw err;
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Netscape cookies.txt

const HTTP_ONLY_PREFIX = "#HttpOnly_";

function parseNetscape(lines: string[]): Cookie[] {
	const problems = new Problems();
	const cookies: Cookie[] = [];
	let seen = 0;
	lines.forEach((raw, index) => {
		const line = index + 1;
		if (raw.trim() === "") return;
		const httpOnly = raw.startsWith(HTTP_ONLY_PREFIX);
		if (raw.startsWith("#") && !httpOnly) return;
		if (++seen > MAX_COOKIES) return;
		const fields = (httpOnly ? raw.slice(HTTP_ONLY_PREFIX.length) : raw).split("\t");
		if (fields.length !== 7) {
			const hint = fields.length === 1 ? " (were the tabs turned into spaces?)" : "";
			problems.add({ line, message: `expected 7 tab-separated fields, got ${fields.length}${hint}` });
			return;
		}
		const [domainField, subdomains, path, secureField, expiresField, name, value] = fields;
		let ok = true;
		const fail = (field: string, message: string) => {
			ok = false;
			problems.add({ line, field, message });
		};
		const bool = (field: string, raw: string): boolean => {
			const upper = raw.toUpperCase();
			if (upper !== "TRUE" && upper !== "FALSE") fail(field, `${field} must be TRUE or FALSE, got "${raw.slice(0, 20)}"`);
			return upper === "TRUE";
		};
		if (domainField === "") fail("domain", "domain is empty");
		const includeSubdomains = bool("includeSubdomains", subdomains);
		const secure = bool("secure", secureField);
		if (!/^-?\d+(\.\d+)?$/.test(expiresField)) fail("expires", `expires must be a number of seconds, got "${expiresField.slice(0, 20)}"`);
		if (name === "") fail("name", "name is empty");
		if (!ok) return;
		const seconds = Number(expiresField);
		cookies.push({
			name,
			value,
			domain: includeSubdomains && !domainField.startsWith(".") ? "." + domainField : domainField,
			path: path || "/",
			expires: seconds > 0 ? seconds : -1,
			httpOnly,
			secure,
			// cookies.txt has no column for it: Chromium's default for cookies that name none.
			sameSite: "Lax"
		});
	});
	if (seen > MAX_COOKIES) throw new CookieFormatError("netscape", [{ message: `too many cookies: ${seen}, at most ${MAX_COOKIES}` }]);
	problems.throwIfAny("netscape");
	if (cookies.length === 0) throw new CookieFormatError("netscape", [{ message: "the file holds no cookies" }]);
	return cookies;
}

// ---------------------------------------------------------------------------------------------------------------
// Export

function toPlaywright(c: Cookie): Cookie {
	return {
		name: c.name,
		value: c.value,
		domain: c.domain,
		path: c.path,
		expires: c.expires > 0 ? c.expires : -1,
		httpOnly: c.httpOnly,
		secure: c.secure,
		sameSite: c.sameSite
	};
}

const EXTENSION_SAME_SITE: Record<Cookie["sameSite"], string> = { None: "no_restriction", Lax: "lax", Strict: "strict" };

function toExtension(c: Cookie, index: number): Record<string, unknown> {
	const session = !(c.expires > 0);
	return {
		domain: c.domain,
		...(session ? {} : { expirationDate: c.expires }),
		hostOnly: !c.domain.startsWith("."),
		httpOnly: c.httpOnly,
		name: c.name,
		path: c.path,
		sameSite: EXTENSION_SAME_SITE[c.sameSite] ?? "unspecified",
		secure: c.secure,
		session,
		storeId: "0",
		value: c.value,
		id: index + 1
	};
}

function toNetscapeLine(c: Cookie): string {
	const expires = String(c.expires > 0 ? Math.floor(c.expires) : 0);
	const fields = [c.domain, c.domain.startsWith(".") ? "TRUE" : "FALSE", c.path, c.secure ? "TRUE" : "FALSE", expires, c.name, c.value];
	// Cookies that never went through parseCookies (captured from a browser) could still break the line structure.
	if (fields.some((field) => /[\t\r\n]/.test(field)))
		throw new Error(`Cookie "${c.name.replace(/[\t\r\n]/g, " ")}" cannot be written as cookies.txt: a field holds a tab or line break`);
	return (c.httpOnly ? HTTP_ONLY_PREFIX : "") + fields.join("\t");
}
