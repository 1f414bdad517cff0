import { errors, type Response } from "playwright";
import { ERROR_TYPES, TaskError, UrlNotAllowedError } from "../errors";
import { PROXY_ERROR_HEADER, REFUSED_HEADER } from "./guard-proxy";

/** Chromium network errors that say the site is not there right now: worth another try. */
const UNREACHABLE = /net::ERR_(NAME_NOT_RESOLVED|CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|ADDRESS_UNREACHABLE|TUNNEL_CONNECTION_FAILED|EMPTY_RESPONSE|NETWORK_CHANGED|TIMED_OUT|INTERNET_DISCONNECTED)/;

/**
 * Turns a failed navigation into a classified task error (shared/seeds/001 §5.2): a timeout is retried (with a longer
 * timeout next time), an unreachable site is retried up to the policy, a closed target is the browser's crash.
 */
export function navigationError(err: unknown, url: string, timeoutMillis: number): Error {
	const message = String((err as any)?.message ?? err).split("\n")[0];
	if (err instanceof errors.TimeoutError)
		return new TaskError(`Navigation to ${url} timed out after ${timeoutMillis} ms`, "retryable", ERROR_TYPES.BROWSER_TIMEOUT, {
			url,
			timeoutMillis
		});
	const unreachable = UNREACHABLE.exec(message);
	if (unreachable)
		return new TaskError(`Could not reach ${url}: ${unreachable[0]}`, "retryable", ERROR_TYPES.NAVIGATION_FAILED, { url, reason: unreachable[0] });
	if (/Target.*closed|browser has been closed|Target crashed/i.test(message))
		return new TaskError(`The browser went away while loading ${url}`, "retryable", ERROR_TYPES.BROWSER_CRASHED, { url });
	return new TaskError(`Navigation to ${url} failed: ${message}`, "retryable", ERROR_TYPES.NAVIGATION_FAILED, { url });
}

/**
 * Checks the answer of a navigation: refused by the URL policy (a redirect to a forbidden address) → fatal; the proxy
 * could not connect → retryable; HTTP 4xx → fatal (the page is not there for us); 5xx → retryable.
 */
export async function checkResponse(response: Response | null, url: string): Promise<void> {
	if (!response) return;
	// The guard proxy's headers are ordinary ones, in `headers()` at once; `allHeaders()` would wait for the raw ones.
	const headers = response.headers();
	if (headers[REFUSED_HEADER]) throw new UrlNotAllowedError(response.url(), headers[REFUSED_HEADER]);
	const status = response.status();
	if (headers[PROXY_ERROR_HEADER])
		throw new TaskError(`Could not reach ${response.url()}: ${headers[PROXY_ERROR_HEADER]}`, "retryable", ERROR_TYPES.NAVIGATION_FAILED, {
			url,
			reason: headers[PROXY_ERROR_HEADER]
		});
	if (status >= 400 && status < 500)
		throw new TaskError(`${response.url()} answered HTTP ${status}`, "fatal", ERROR_TYPES.PAGE_HTTP_ERROR, { url, status });
	if (status >= 500)
		throw new TaskError(`${response.url()} answered HTTP ${status}`, "retryable", ERROR_TYPES.PAGE_HTTP_ERROR, { url, status });
}
