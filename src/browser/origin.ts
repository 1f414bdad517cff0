/** The origin of a URL that can hold storage (http, https), else "" (about:blank, data:, chrome-error:). */
export function originOf(url: string): string {
	try {
		const origin = new URL(url).origin;
		return origin === "null" ? "" : origin;
	} catch {
		return "";
	}
}
