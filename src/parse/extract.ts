/**
 * The `page.parse` extraction: everything the result reports about a page, computed inside the page in one
 * `page.evaluate` round trip. The in-page code is `extract.browser.js` (plain JavaScript: see the note at its top).
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright";

/** Landmark roles reported, from ARIA roles and from the HTML elements that imply them. */
export type LandmarkRole =
	| "banner"
	| "navigation"
	| "main"
	| "complementary"
	| "contentinfo"
	| "search"
	| "form"
	| "region";

export interface PageMeta {
	description: string | null;
	keywords: string | null;
	/** `<link rel="canonical">`, absolute. */
	canonical: string | null;
	/** The `lang` attribute of `<html>`. */
	lang: string | null;
	robots: string | null;
	viewport: string | null;
	/** The encoding the browser decoded the document with (`document.characterSet`). */
	charset: string | null;
	/** `<meta property="og:…">` values by full property name (`"og:title"`); the first of repeated ones. */
	openGraph: Record<string, string>;
}

export interface DomStats {
	elementCount: number;
	/** Depth of the deepest element; `<html>` is 1. */
	maxDepth: number;
	/** The 20 most frequent tags (lowercase) with their counts. */
	tagCounts: Record<string, number>;
}

export interface Heading {
	/** 1–6 (h1–h6), or aria-level of a `role="heading"` element (2 when absent). */
	level: number;
	text: string;
}

export interface Landmark {
	role: LandmarkRole;
	/** aria-labelledby, aria-label or title; null when unnamed. */
	label: string | null;
	selector: string;
}

export interface Link {
	/** Absolute URL. */
	href: string;
	/** Accessible name: aria-label, else text content (image alts included), else title; at most 100 characters. */
	text: string;
}

export interface Links {
	/** Distinct http(s) hrefs on the page's origin (the list below may be cut at `maxItems`). */
	internalCount: number;
	/** Distinct http(s) hrefs on other origins. */
	externalCount: number;
	/** Links that are not http(s): javascript:, mailto:, tel:, data:… (not deduplicated). */
	otherCount: number;
	internal: Link[];
	external: Link[];
}

export interface FormField {
	tag: "input" | "select" | "textarea";
	/** The input type, `select-one`/`select-multiple`, or `textarea`. Button-like inputs are not fields. */
	type: string;
	name: string | null;
	id: string | null;
	/** aria-labelledby, aria-label, `<label for>` or a wrapping label, title, or placeholder: the first that has text. */
	label: string | null;
	required: boolean;
	placeholder: string | null;
	/** Option values of a select (at most 50). */
	options?: string[];
}

export interface FormInfo {
	selector: string;
	name: string | null;
	id: string | null;
	/** Absolute; the page's own URL when the form has no action. */
	action: string;
	/** Lowercase; `get` when absent. */
	method: string;
	/** input, select and textarea controls, including those outside the form with `form="…"`; at most 200. */
	fields: FormField[];
}

export interface InteractiveElement {
	/** Explicit role, else the implicit one (link, button, textbox, checkbox, combobox…, `generic` for onclick/tabindex). */
	role: string;
	/** Accessible name (approximation of accname), at most 100 characters. */
	name: string;
	tag: string;
	selector: string;
	/** Present (true) when disabled or aria-disabled. */
	disabled?: true;
}

export interface TableInfo {
	selector: string;
	caption: string | null;
	rows: number;
	/** Widest row, counting colspans. */
	columns: number;
	/** Cells of the last `<thead>` row, else the `<th>` cells of the first row; at most 50. */
	headers: string[];
}

export interface TextStats {
	/** Characters of the rendered body text (`innerText`), whitespace collapsed. */
	characters: number;
	words: number;
	/** `<p>` elements with text. */
	paragraphs: number;
	/** The `lang` attribute of `<html>`. */
	language: string | null;
}

/** What `extractPage` returns: the page part of a `page.parse` result. */
export interface PageExtract {
	/** `location.href` when extracted (after redirects). */
	url: string;
	title: string;
	meta: PageMeta;
	dom: DomStats;
	/** Outline in document order, at most 200. */
	headings: Heading[];
	landmarks: Landmark[];
	links: Links;
	forms: FormInfo[];
	/** Visible interactive elements (non-empty box, not display:none or visibility:hidden): `total` counts them all. */
	interactive: { total: number; items: InteractiveElement[] };
	tables: TableInfo[];
	text: TextStats;
	/** Time spent inside the page, in milliseconds. */
	extractMillis: number;
}

export interface ExtractOptions {
	/**
	 * Length cap of every list (each link list, interactive items, landmarks, forms, tables; headings stop at 200).
	 * @default 500
	 */
	maxItems?: number;
}

/**
 * The in-page function's source, read once. Resolved next to this file: tsx and ts-jest run from the sources, so it
 * is found there (a `tsc` build would have to copy it into dist/).
 */
let source: string | undefined;

function extractSource(): string {
	if (source === undefined) {
		// No trailing semicolon: the source is wrapped as `(source)(options)`.
		source = fs
			.readFileSync(path.join(__dirname, "extract.browser.js"), "utf8")
			.trim()
			.replace(/;$/, "");
	}
	return source;
}

/**
 * Extracts the page's structure in one `page.evaluate`. The call has no timeout of its own: it ends when the page
 * answers, closes or crashes, so the caller bounds it like any other browser call.
 */
export async function extractPage(page: Page, options: ExtractOptions = {}): Promise<PageExtract> {
	// One JSON string back instead of an object: Playwright's structured serialization of a large result costs
	// several times the extraction itself. Newlines keep a trailing line comment from swallowing the call.
	const expression = `JSON.stringify((\n${extractSource()}\n)(${JSON.stringify(options)}))`;
	return JSON.parse((await page.evaluate(expression)) as string) as PageExtract;
}
