/**
 * Declarative browser steps (`POST /api/sessions/:id/actions`, the `browser.actions` task): a fixed vocabulary of
 * Playwright calls on a live page, so users can drive a profile's browser without running their own JavaScript in it.
 */
import type Validator from "fastest-validator";
import { createValidator } from "../validation";
import { errors as playwrightErrors, type Locator, type Page } from "playwright";
import { ERROR_TYPES } from "../errors";
import { PROXY_ERROR_HEADER, REFUSED_HEADER } from "../browser/guard-proxy";
import { navigationError } from "../browser/navigation-errors";
import { withTimeout } from "../browser/timeouts";

export const STEP_TIMEOUT = "STEP_TIMEOUT";
export const STEP_ELEMENT_NOT_FOUND = "STEP_ELEMENT_NOT_FOUND";
export const STEP_URL_NOT_ALLOWED = "STEP_URL_NOT_ALLOWED";
export const STEP_NAVIGATION_FAILED = "STEP_NAVIGATION_FAILED";
export const STEP_FAILED = "STEP_FAILED";

export type WaitUntil = "load" | "domcontentloaded" | "networkidle" | "commit";
export type SelectorState = "attached" | "detached" | "visible" | "hidden";

/** One step: its single action key names what it does. */
export type ActionStep =
	| { goto: string; waitUntil?: WaitUntil }
	| { click: string }
	| { fill: string; value: string }
	| { press: string; selector?: string }
	| { check: string }
	| { uncheck: string }
	| { select: string; value: string | string[] }
	| { waitForSelector: string; state?: SelectorState }
	| { waitForUrl: string }
	| { extract: { selector: string; attribute?: string; all?: boolean } }
	| { screenshot: { fullPage?: boolean; selector?: string } };

export interface StepResult {
	/** 0-based index in the request's steps. */
	step: number;
	action: string;
	ok: boolean;
	durationMillis: number;
	value?: unknown;
	error?: { type: string; message: string };
}

export interface ActionsResult {
	ok: boolean;
	/** The steps that ran: every step up to and including the first failure. */
	results: StepResult[];
	error?: { step: number; action: string; type: string; message: string };
}

export interface RunActionsOptions {
	/** Per step. */
	timeoutMs: number;
	/** Throws (a 422) when the URL must not be opened. */
	checkUrl(url: string): Promise<void>;
	saveArtifact(data: Buffer, input: { contentType: string; name?: string }): Promise<{ id: string; url?: string }>;
	/** Aborting stops the run and throws its reason: a cancelled run is not a failed step. */
	signal?: AbortSignal;
}

/** A step failure with its type; anything else thrown by a step is classified by `classify`. */
class StepError extends Error {
	constructor(
		readonly type: string,
		message: string
	) {
		super(message);
	}
}

type ActionName =
	| "goto"
	| "click"
	| "fill"
	| "press"
	| "check"
	| "uncheck"
	| "select"
	| "waitForSelector"
	| "waitForUrl"
	| "extract"
	| "screenshot";
type StepOf<K extends string> = Extract<ActionStep, Record<K, unknown>>;
interface StepContext {
	page: Page;
	index: number;
	timeout: number;
	options: RunActionsOptions;
}

const SELECTOR = { type: "string", min: 1, max: 2000 } as const;
/** navigationError's classification, as step error types. */
const NAVIGATION_STEP_TYPES: Record<string, string> = {
	[ERROR_TYPES.BROWSER_TIMEOUT]: STEP_TIMEOUT,
	[ERROR_TYPES.NAVIGATION_FAILED]: STEP_NAVIGATION_FAILED
};
const optional = <T extends object>(rule: T) => ({ ...rule, optional: true }) as const;

/**
 * What `extract` reads of each element, in the page: the attribute named, or the text. A form field's (input,
 * textarea, select) current value stands for its text and for its `value` attribute, which typing does not change.
 */
function readElements(elements: Element[], attribute: string | null): (string | null)[] {
	return elements.map(e => {
		const field = e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement;
		if (field && (attribute === null || attribute === "value")) return e.value;
		if (attribute !== null) return e.getAttribute(attribute);
		return e instanceof HTMLElement ? e.innerText.trim() : (e.textContent ?? "").trim();
	});
}

/**
 * Every action: the schema of its step (validated strictly: a misspelt option is an error, not silently ignored) and
 * what it does. Steps that answer nothing return undefined.
 */
const ACTIONS: { [K in ActionName]: { schema: Record<string, unknown>; run(step: StepOf<K>, ctx: StepContext): Promise<unknown> } } = {
	goto: {
		schema: {
			goto: { type: "url" },
			waitUntil: { type: "enum", optional: true, values: ["load", "domcontentloaded", "networkidle", "commit"] }
		},
		async run(step, { page, timeout, options }) {
			try {
				await options.checkUrl(step.goto);
			} catch (err: any) {
				throw new StepError(STEP_URL_NOT_ALLOWED, String(err?.message ?? err));
			}
			let response;
			try {
				response = await page.goto(step.goto, { waitUntil: step.waitUntil ?? "load", timeout });
			} catch (err) {
				const nav = navigationError(err, step.goto, timeout) as Error & { type: string };
				throw new StepError(NAVIGATION_STEP_TYPES[nav.type] ?? STEP_FAILED, nav.message);
			}
			// Behind the guard proxy a redirect to a forbidden address, or an unreachable site, comes back as its own answer.
			const headers = response ? await response.allHeaders() : {};
			if (headers[REFUSED_HEADER]) throw new StepError(STEP_URL_NOT_ALLOWED, `URL not allowed: ${headers[REFUSED_HEADER]}`);
			if (headers[PROXY_ERROR_HEADER])
				throw new StepError(STEP_NAVIGATION_FAILED, `Could not reach ${step.goto}: ${headers[PROXY_ERROR_HEADER]}`);
			// An HTTP error page is still a page the next steps may want to read: reported, not failed.
			return { url: page.url(), status: response?.status() ?? null };
		}
	},
	click: {
		schema: { click: SELECTOR },
		run: async (step, { page, timeout }) => void (await page.locator(step.click).click({ timeout }))
	},
	fill: {
		schema: { fill: SELECTOR, value: { type: "string", max: 100_000 } },
		run: async (step, { page, timeout }) => void (await page.locator(step.fill).fill(step.value, { timeout }))
	},
	press: {
		schema: { press: { type: "string", min: 1, max: 100 }, selector: optional(SELECTOR) },
		run: async (step, { page, timeout }) =>
			void (await (step.selector ? page.locator(step.selector).press(step.press, { timeout }) : page.keyboard.press(step.press)))
	},
	check: {
		schema: { check: SELECTOR },
		run: async (step, { page, timeout }) => void (await page.locator(step.check).check({ timeout }))
	},
	uncheck: {
		schema: { uncheck: SELECTOR },
		run: async (step, { page, timeout }) => void (await page.locator(step.uncheck).uncheck({ timeout }))
	},
	select: {
		schema: {
			select: SELECTOR,
			value: {
				type: "multi",
				rules: [
					{ type: "string", max: 1000 },
					{ type: "array", max: 100, items: { type: "string", max: 1000 } }
				]
			}
		},
		// Answers the values now selected: a label that matched no option shows up as missing here.
		run: (step, { page, timeout }) => page.locator(step.select).selectOption(step.value, { timeout })
	},
	waitForSelector: {
		schema: {
			waitForSelector: SELECTOR,
			state: { type: "enum", optional: true, values: ["attached", "detached", "visible", "hidden"] }
		},
		run: async (step, { page, timeout }) =>
			void (await page.locator(step.waitForSelector).first().waitFor({ state: step.state ?? "visible", timeout }))
	},
	waitForUrl: {
		schema: { waitForUrl: { type: "string", min: 1, max: 8192 } },
		async run(step, { page, timeout }) {
			await page.waitForURL(step.waitForUrl, { timeout });
			return { url: page.url() };
		}
	},
	extract: {
		schema: {
			extract: {
				type: "object",
				strict: true,
				props: {
					selector: SELECTOR,
					attribute: optional({ type: "string", min: 1, max: 200 }),
					all: { type: "boolean", optional: true }
				}
			}
		},
		async run({ extract: { selector, attribute, all } }, { page, timeout }) {
			const matches = page.locator(selector);
			// `all` reads what is there now (possibly nothing), as Playwright's all* calls do; one element is waited for.
			if (all) return matches.evaluateAll(readElements, attribute ?? null);
			const first: Locator = matches.first();
			try {
				await first.waitFor({ state: "attached", timeout });
			} catch (err) {
				if (err instanceof playwrightErrors.TimeoutError)
					throw new StepError(STEP_ELEMENT_NOT_FOUND, `No element matches ${selector} (waited ${timeout} ms)`);
				throw err;
			}
			return (await first.evaluateAll(readElements, attribute ?? null))[0] ?? null;
		}
	},
	screenshot: {
		schema: {
			screenshot: { type: "object", strict: true, props: { fullPage: { type: "boolean", optional: true }, selector: optional(SELECTOR) } }
		},
		async run({ screenshot: { fullPage, selector } }, { page, index, timeout, options }) {
			// With a selector the element is captured, whatever fullPage says.
			const data = selector
				? await page.locator(selector).screenshot({ type: "png", timeout })
				: await page.screenshot({ type: "png", fullPage: fullPage ?? false, timeout });
			const saved = await options.saveArtifact(data, { contentType: "image/png", name: `step-${index}.png` });
			return saved.url ? { artifactId: saved.id, url: saved.url } : { artifactId: saved.id };
		}
	}
};

const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

/** The action a step names, or undefined when it names none or several (validation refuses both). */
export function actionOf(step: object): ActionName | undefined {
	const named = ACTION_NAMES.filter(name => Object.hasOwn(step, name));
	return named.length === 1 ? named[0] : undefined;
}

const stepValidator = createValidator();
const STEP_CHECKS = Object.fromEntries(
	ACTION_NAMES.map(name => [name, stepValidator.compile({ $$strict: true, ...ACTIONS[name].schema })])
) as Record<ActionName, ReturnType<Validator["compile"]>>;

/** Validation errors of every step, with fields named from the request root (`steps[2].value`). */
function stepErrors(steps: unknown[]): Record<string, unknown>[] {
	const found: Record<string, unknown>[] = [];
	steps.forEach((step, i) => {
		if (!step || typeof step !== "object" || Array.isArray(step)) return; // `items: "object"` reported it
		const field = `steps[${i}]`;
		const action = actionOf(step);
		if (!action) {
			const named = Object.keys(step);
			found.push({
				type: "stepAction",
				field,
				actual: named,
				expected: ACTION_NAMES,
				message:
					`The '${field}' step must name exactly one action (${ACTION_NAMES.join(", ")}); ` +
					`it has: ${named.join(", ") || "nothing"}.`
			});
			return;
		}
		const result = STEP_CHECKS[action](step);
		if (result === true) return;
		for (const err of result as { field?: string; message?: string }[]) {
			const inner = err.field ?? "";
			found.push({ ...err, field: `${field}.${inner}`, message: err.message?.replace(`'${inner}'`, `'${field}.${inner}'`) });
		}
	});
	return found;
}

function checkSteps(value: unknown, errors: unknown[]): unknown {
	if (Array.isArray(value)) errors.push(...stepErrors(value));
	return value;
}

/** fastest-validator props of a request: spread it into action params, or compile it as it is. */
export const ACTION_STEPS_SCHEMA = {
	steps: { type: "array", min: 1, max: 50, items: "object", custom: checkSteps },
	timeoutMs: { type: "number", optional: true, integer: true, min: 100, max: 120_000, default: 10_000 }
};

/** Runs `work` under the step's deadline (a hung renderer must not hold the run) and the run's abort signal. */
async function bounded<T>(work: Promise<T>, millis: number, signal: AbortSignal | undefined): Promise<T> {
	// Playwright's own timeouts report better: the deadline is only for calls that have none, or ignore theirs.
	const deadline = withTimeout(work, millis + 1000, "step");
	if (!signal) return deadline;
	let onAbort!: () => void;
	const aborted = new Promise<never>((_, reject) => {
		onAbort = () => reject(signal.reason);
		signal.addEventListener("abort", onAbort, { once: true });
	});
	try {
		return await Promise.race([deadline, aborted]);
	} finally {
		signal.removeEventListener("abort", onAbort);
	}
}

function classify(err: unknown): { type: string; message: string } {
	// Playwright appends a multi-line call log: the first line says what went wrong.
	const message = String((err as any)?.message ?? err).split("\n")[0];
	if (err instanceof StepError) return { type: err.type, message };
	// A Playwright timeout, or the step's own deadline (withTimeout).
	if (err instanceof playwrightErrors.TimeoutError || (err as any)?.type === ERROR_TYPES.BROWSER_TIMEOUT)
		return { type: STEP_TIMEOUT, message };
	if (/net::ERR_/.test(message)) return { type: STEP_NAVIGATION_FAILED, message };
	return { type: STEP_FAILED, message };
}

/**
 * Runs validated steps in order on `page`. The first failing step ends the run and is reported, not thrown; only an
 * aborted signal throws (its reason).
 */
export async function runActions(page: Page, steps: ActionStep[], options: RunActionsOptions): Promise<ActionsResult> {
	const results: StepResult[] = [];
	for (const [index, step] of steps.entries()) {
		options.signal?.throwIfAborted();
		const action = actionOf(step);
		const started = performance.now();
		const elapsed = () => Math.round(performance.now() - started);
		let error: { type: string; message: string };
		try {
			if (!action) throw new StepError(STEP_FAILED, `Step ${index} names no known action`);
			const handler = ACTIONS[action] as { run(step: ActionStep, ctx: StepContext): Promise<unknown> };
			const work = handler.run(step, { page, index, timeout: options.timeoutMs, options });
			const value = await bounded(work, options.timeoutMs, options.signal);
			results.push({ step: index, action, ok: true, durationMillis: elapsed(), ...(value === undefined ? {} : { value }) });
			continue;
		} catch (err) {
			// A step that failed because the run was cancelled (its page closed under it) is the cancellation.
			options.signal?.throwIfAborted();
			error = classify(err);
		}
		const name = action ?? "unknown";
		results.push({ step: index, action: name, ok: false, durationMillis: elapsed(), error });
		return { ok: false, results, error: { step: index, action: name, ...error } };
	}
	return { ok: true, results };
}
