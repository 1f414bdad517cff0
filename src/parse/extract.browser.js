// @ts-check
/*
 * The page.parse extraction, run inside the page by `extractPage` (extract.ts) in one `page.evaluate` round trip.
 *
 * Plain JavaScript on purpose: tsx (esbuild keepNames) wraps transpiled functions in `__name(...)` calls, which do not
 * exist inside the page, so a TypeScript function handed to `page.evaluate` fails at run time. This file is read as
 * text and evaluated as `(<this file>)(options)`: it must stay one function expression with no imports, and it must
 * return plain JSON (the shape is `PageExtract` in extract.ts; keep both in step).
 *
 * Speed: one walk over the element tree collects everything; the lists are then built from what the walk kept.
 * Accessible names, visibility and selectors are computed only for the elements that end up in a list.
 *
 * Scope: the top document only. Iframes and shadow roots are not entered (their elements are not in the counts).
 */
/** @param {{maxItems?: number}} [options] */
(options) => {
	const started = performance.now();
	const maxItems = options && options.maxItems > 0 ? Math.floor(options.maxItems) : 500;
	const MAX_HEADINGS = Math.min(200, maxItems);
	const MAX_SELECT_OPTIONS = 50;
	const MAX_FIELDS = 200;
	const MAX_TABLE_HEADERS = 50;
	const MAX_TOP_TAGS = 20;
	const MAX_SELECTOR_STEPS = 6;

	const LANDMARK_ROLES = new Set(["banner", "navigation", "main", "complementary", "contentinfo", "search", "form", "region"]);
	const INTERACTIVE_ROLES = new Set([
		"button", "link", "checkbox", "radio", "switch", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "option",
		"combobox", "listbox", "textbox", "searchbox", "slider", "spinbutton", "treeitem", "gridcell"
	]);
	const SECTIONING = "article,aside,main,nav,section";
	const BUTTON_INPUT_TYPES = new Set(["submit", "reset", "button", "image"]);

	/** Whitespace collapsed and trimmed, at most `max` characters. Long strings are cut first so huge text costs little. */
	const clip = (/** @type {string | null | undefined} */ s, max = 100) => {
		if (!s) return "";
		const t = (s.length > max * 4 ? s.slice(0, max * 4) : s).replace(/\s+/g, " ").trim();
		return t.length > max ? t.slice(0, max) : t;
	};

	// Elements whose text is set apart from what surrounds it; inline ones (<b>, <span>) join their neighbours.
	const BLOCK_TAGS = new Set([
		"ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "BR", "DD", "DETAILS", "DIV", "DL", "DT", "FIELDSET", "FIGCAPTION",
		"FIGURE", "FOOTER", "FORM", "H1", "H2", "H3", "H4", "H5", "H6", "HEADER", "HR", "LI", "MAIN", "NAV", "OL", "P",
		"PRE", "SECTION", "SUMMARY", "TABLE", "TD", "TH", "TR", "UL"
	]);
	const MAX_TEXT_CHARS = 1000;

	/**
	 * Text of a subtree without form controls' own text (a wrapping label holds its select's options) or scripts,
	 * image alts included. Stops past MAX_TEXT_CHARS: callers keep at most a few hundred, and a clickable wrapper
	 * around a whole page would otherwise cost a walk of the page.
	 */
	const labelText = (/** @type {Node} */ node) => {
		let out = "";
		const visitText = (/** @type {Node} */ parent) => {
			for (let c = parent.firstChild; c && out.length < MAX_TEXT_CHARS; c = c.nextSibling) {
				if (c.nodeType === 3) out += c.nodeValue;
				else if (c.nodeType === 1) {
					const tag = /** @type {Element} */ (c).tagName;
					if (tag === "SELECT" || tag === "TEXTAREA" || tag === "SCRIPT" || tag === "STYLE" || tag === "TEMPLATE") continue;
					if (tag === "IMG") out += " " + (/** @type {Element} */ (c).getAttribute("alt") || "") + " ";
					else if (BLOCK_TAGS.has(tag)) {
						out += " ";
						visitText(c);
						out += " ";
					} else visitText(c);
				}
			}
		};
		visitText(node);
		return out;
	};

	/** Text of the elements an aria-labelledby attribute names. */
	const labelledBy = (/** @type {string} */ ids) => {
		let out = "";
		for (const id of ids.split(/\s+/)) {
			const ref = id && document.getElementById(id);
			if (ref) out += " " + (ref.getAttribute("aria-label") || labelText(ref));
		}
		return out;
	};

	/** aria-labelledby, then aria-label: the explicit names that win over everything else. */
	const ariaName = (/** @type {Element} */ el) => {
		const by = el.getAttribute("aria-labelledby");
		if (by) {
			const t = clip(labelledBy(by));
			if (t) return t;
		}
		return clip(el.getAttribute("aria-label"));
	};

	/** Text of the <label>s of a form control: `<label for>` and a wrapping label alike (`control.labels`). */
	const labelsName = (/** @type {any} */ el) => {
		const labels = el.labels;
		if (!labels || labels.length === 0) return "";
		let out = "";
		for (const label of labels) out += " " + labelText(label);
		return clip(out);
	};

	/**
	 * The accessible name, after the order of accname: aria-labelledby, aria-label, labels, a button input's value,
	 * content, title, alt, placeholder. An approximation: no CSS generated content, no recursion through embedded
	 * controls, and content names every element that is not a form control (accname keeps that for some roles, but a
	 * clickable div's text is what tells an agent what it does).
	 */
	const accessibleName = (/** @type {Element} */ el) => {
		let name = ariaName(el);
		if (name) return name;
		const tag = el.tagName;
		const he = /** @type {any} */ (el);
		if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || tag === "METER" || tag === "PROGRESS" || tag === "OUTPUT") {
			name = labelsName(el);
			if (name) return name;
			if (tag === "INPUT") {
				const type = he.type;
				if (type === "submit" || type === "reset" || type === "button")
					return clip(he.value) || (type === "submit" ? "Submit" : type === "reset" ? "Reset" : "");
				if (type === "image") return clip(el.getAttribute("alt")) || clip(el.getAttribute("title")) || "Submit";
			}
		} else if (tag === "BUTTON") {
			name = labelsName(el) || clip(labelText(el));
			if (name) return name;
		} else if (tag === "IMG" || tag === "AREA") {
			name = clip(el.getAttribute("alt"));
			if (name) return name;
		} else {
			name = clip(labelText(el));
			if (name) return name;
		}
		return clip(el.getAttribute("title")) || clip(el.getAttribute("placeholder"));
	};

	/** The role the element has: its explicit role attribute (first token), else the implicit one. */
	const implicitRole = (/** @type {Element} */ el) => {
		const he = /** @type {any} */ (el);
		switch (el.tagName) {
			case "A":
			case "AREA":
				return el.hasAttribute("href") ? "link" : "generic";
			case "BUTTON":
			case "SUMMARY":
				return "button";
			case "SELECT":
				return he.multiple || he.size > 1 ? "listbox" : "combobox";
			case "TEXTAREA":
				return "textbox";
			case "INPUT":
				switch (he.type) {
					case "checkbox":
						return "checkbox";
					case "radio":
						return "radio";
					case "range":
						return "slider";
					case "number":
						return "spinbutton";
					case "search":
						return "searchbox";
					case "submit":
					case "reset":
					case "button":
					case "image":
					case "file":
						return "button";
					default:
						return "textbox";
				}
			default:
				return "generic";
		}
	};

	// ---- the walk ---------------------------------------------------------------------------------------------
	const root = document.documentElement;
	/** @type {Map<string, number>} */
	const tagCounts = new Map();
	/** @type {Map<string, number>} how many elements carry each id (ids are unique only when this says 1) */
	const idCounts = new Map();
	/** @type {Map<string, number>} */
	const testIdCounts = new Map();
	/** @type {Map<string, number>} `tag[name=...]` counts, for naming form controls */
	const nameCounts = new Map();
	/** @type {{level: number, text: string}[]} */
	const headings = [];
	/** @type {{el: Element, role: string}[]} */
	const landmarkEls = [];
	/** @type {Element[]} */
	const linkEls = [];
	/** @type {HTMLFormElement[]} */
	const formEls = [];
	/** @type {{el: Element, role: string}[]} */
	const interactiveEls = [];
	/** @type {HTMLTableElement[]} */
	const tableEls = [];
	/** @type {Record<string, string>} */
	const openGraph = {};
	const meta = {
		description: /** @type {string | null} */ (null),
		keywords: /** @type {string | null} */ (null),
		canonical: /** @type {string | null} */ (null),
		lang: root ? root.getAttribute("lang") || null : null,
		robots: /** @type {string | null} */ (null),
		viewport: /** @type {string | null} */ (null),
		charset: document.characterSet || null,
		openGraph
	};
	let elementCount = 0;
	let maxDepth = 0;
	let paragraphs = 0;

	/** The landmark an element is by its tag alone, or null. */
	const landmarkFromTag = (/** @type {Element} */ el) => {
		switch (el.tagName) {
			case "NAV":
				return "navigation";
			case "MAIN":
				return "main";
			case "SEARCH":
				return "search";
			// header/footer are page-level landmarks only outside sectioning content (html-aam).
			case "HEADER":
				return el.parentElement && el.parentElement.closest(SECTIONING) ? null : "banner";
			case "FOOTER":
				return el.parentElement && el.parentElement.closest(SECTIONING) ? null : "contentinfo";
			// An aside nested in sectioning content is complementary only with a name (html-aam).
			case "ASIDE":
				return el.parentElement && el.parentElement.closest("article,aside,nav,section") && !ariaName(el)
					? null
					: "complementary";
			// form and section are landmarks only when named.
			case "FORM":
				return ariaName(el) || el.getAttribute("title") ? "form" : null;
			case "SECTION":
				return ariaName(el) || el.getAttribute("title") ? "region" : null;
			default:
				return null;
		}
	};

	/** @param {Element} el */
	const visit = el => {
		const tag = el.tagName;
		tagCounts.set(tag, (tagCounts.get(tag) || 0) + 1);
		// Many elements (li, span, p…) carry no attribute at all: skip the lookups for them.
		const hasAttributes = el.hasAttributes();
		if (hasAttributes) {
			const id = el.id;
			if (id) idCounts.set(id, (idCounts.get(id) || 0) + 1);
			const testId = el.getAttribute("data-testid");
			if (testId) testIdCounts.set(testId, (testIdCounts.get(testId) || 0) + 1);
		}
		const explicit = hasAttributes ? el.getAttribute("role") : null;
		const role = explicit ? explicit.trim().split(/\s+/)[0].toLowerCase() : "";
		let interactive = false;
		let isHeading = false;
		switch (tag) {
			case "H1":
			case "H2":
			case "H3":
			case "H4":
			case "H5":
			case "H6":
				isHeading = true;
				if (headings.length < MAX_HEADINGS && (role === "" || role === "heading"))
					headings.push({ level: tag.charCodeAt(1) - 48, text: clip(labelText(el), 200) });
				break;
			case "P":
				if (/\S/.test(el.textContent || "")) paragraphs++;
				break;
			case "A":
			case "AREA":
				if (el.hasAttribute("href")) {
					linkEls.push(el);
					interactive = true;
				}
				break;
			case "BUTTON":
			case "SELECT":
			case "TEXTAREA":
			case "SUMMARY":
				interactive = true;
				break;
			case "INPUT":
				interactive = /** @type {HTMLInputElement} */ (el).type !== "hidden";
				break;
			case "FORM":
				formEls.push(/** @type {HTMLFormElement} */ (el));
				break;
			case "TABLE":
				if (role !== "presentation" && role !== "none") tableEls.push(/** @type {HTMLTableElement} */ (el));
				break;
			case "META": {
				const content = el.getAttribute("content");
				const name = (el.getAttribute("name") || "").toLowerCase();
				const property = el.getAttribute("property");
				if (name === "description" || name === "keywords" || name === "robots" || name === "viewport") {
					if (meta[name] === null) meta[name] = content;
				} else if (property && property.startsWith("og:") && content !== null && !(property in openGraph))
					openGraph[property] = content;
				break;
			}
			case "LINK":
				if (meta.canonical === null && /(^|\s)canonical(\s|$)/i.test(el.getAttribute("rel") || ""))
					meta.canonical = /** @type {HTMLLinkElement} */ (el).href || null;
				break;
		}
		if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON") {
			const name = el.getAttribute("name");
			if (name) {
				const key = tag + "\u0000" + name;
				nameCounts.set(key, (nameCounts.get(key) || 0) + 1);
			}
		}
		if (role !== "") {
			if (role === "heading" && !isHeading && headings.length < MAX_HEADINGS) {
				const level = parseInt(el.getAttribute("aria-level") || "", 10);
				headings.push({ level: level > 0 ? level : 2, text: clip(labelText(el), 200) });
			}
			if (LANDMARK_ROLES.has(role)) landmarkEls.push({ el, role });
			if (INTERACTIVE_ROLES.has(role)) interactive = true;
		} else {
			const landmark = landmarkFromTag(el);
			if (landmark) landmarkEls.push({ el, role: landmark });
		}
		if (!interactive && hasAttributes) {
			const tabindex = el.getAttribute("tabindex");
			interactive =
				el.hasAttribute("onclick") ||
				(tabindex !== null && parseInt(tabindex, 10) >= 0) ||
				(el.hasAttribute("contenteditable") && /** @type {HTMLElement} */ (el).isContentEditable);
		}
		if (interactive) interactiveEls.push({ el, role: role || implicitRole(el) });
	};

	// Pre-order walk without recursion or a stack: depth follows the moves down and up.
	if (root) {
		let el = /** @type {Element | null} */ (root);
		let depth = 1;
		while (el) {
			elementCount++;
			if (depth > maxDepth) maxDepth = depth;
			visit(el);
			const child = el.firstElementChild;
			if (child) {
				el = child;
				depth++;
				continue;
			}
			while (el && el !== root && !el.nextElementSibling) {
				el = el.parentElement;
				depth--;
			}
			el = el && el !== root ? el.nextElementSibling : null;
		}
	}

	// ---- selectors --------------------------------------------------------------------------------------------
	/** @type {Map<Element, string>} */
	const selectorCache = new Map();

	/** Whether `sel` matches `el` and nothing else in the document (one querySelectorAll: a scan of the page). */
	const isUnique = (/** @type {string} */ sel, /** @type {Element} */ el) => {
		try {
			const found = document.querySelectorAll(sel);
			return found.length === 1 && found[0] === el;
		} catch {
			return false;
		}
	};

	/** Anchors (selectors of one element) already checked with querySelectorAll, and what the check said. */
	/** @type {Map<string, boolean>} */
	const checkedAnchors = new Map();
	// Tail selectors cost a scan of the page each: on a page of thousands of elements, hundreds of them would cost more
	// than all the rest of the extraction. Past this budget, deep elements keep their longer anchored path.
	let tailChecksLeft = 50;
	/** A selector that names this element alone, from the counts of the walk, or null. */
	const anchorOf = (/** @type {Element} */ el) => {
		const id = el.id;
		if (id && idCounts.get(id) === 1) return "#" + CSS.escape(id);
		const testId = el.getAttribute("data-testid");
		if (testId && testIdCounts.get(testId) === 1) return `[data-testid="${CSS.escape(testId)}"]`;
		const tag = el.tagName;
		const name = el.getAttribute("name");
		if (name && nameCounts.get(tag + "\u0000" + name) === 1) return `${el.localName}[name="${CSS.escape(name)}"]`;
		if (tagCounts.get(tag) === 1 && el.namespaceURI === "http://www.w3.org/1999/xhtml") return el.localName;
		return null;
	};

	/** `tag` or `tag:nth-of-type(k)`: one step that picks this element among its siblings. */
	const stepOf = (/** @type {Element} */ el) => {
		const tag = el.tagName;
		let index = 1;
		for (let s = el.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === tag) index++;
		let alone = index === 1;
		if (alone) for (let s = el.nextElementSibling; s; s = s.nextElementSibling) if (s.tagName === tag) { alone = false; break; }
		const type = CSS.escape(el.localName);
		return alone ? type : `${type}:nth-of-type(${index})`;
	};

	/** Full path from the root with a step at every level: always unique, used when a shorter one did not check out. */
	const fullPath = (/** @type {Element} */ el) => {
		const steps = [];
		for (let e = /** @type {Element | null} */ (el); e && e !== root; e = e.parentElement) steps.push(stepOf(e));
		steps.push(":root");
		return steps.reverse().join(" > ");
	};

	/**
	 * A short unique CSS selector: the element's own unique id (or data-testid, or tag+name), else child steps up to
	 * the nearest ancestor that is unique the same way (a unique id, a tag seen once such as main or body, or an
	 * ancestor whose selector is known already). Each anchor is checked with querySelectorAll once; the steps below it
	 * each pick one child (`tag:nth-of-type(k)`), so the path is unique when its anchor is, and `matches` confirms it
	 * names the element. Checking every full selector with querySelectorAll instead would scan the page once per
	 * element: most of the extraction time on a large page. A selector that fails its checks becomes the full path.
	 */
	const selectorOf = (/** @type {Element} */ el) => {
		const cached = selectorCache.get(el);
		if (cached !== undefined) return cached;
		let anchor = anchorOf(el);
		let sel = anchor;
		if (!anchor) {
			const steps = [stepOf(el)];
			let e = el.parentElement;
			while (e) {
				const known = selectorCache.get(e);
				if (known) {
					anchor = known;
					checkedAnchors.set(known, true);
					break;
				}
				anchor = anchorOf(e);
				if (anchor) break;
				steps.push(stepOf(e));
				e = e.parentElement;
			}
			steps.push(anchor || ":root");
			steps.reverse();
			sel = steps.join(" > ");
			// Deep below the nearest anchor: the last few steps alone are often unique already, and much shorter.
			if (steps.length - 1 > MAX_SELECTOR_STEPS && tailChecksLeft > 0) {
				tailChecksLeft--;
				const tail = steps.slice(-MAX_SELECTOR_STEPS).join(" > ");
				if (isUnique(tail, el)) {
					selectorCache.set(el, tail);
					return tail;
				}
			}
		}
		let ok = anchor === null || checkedAnchors.get(anchor);
		if (ok === undefined) {
			const found = anchor === sel ? el : anchorElement(el, anchor);
			ok = found !== null && isUnique(anchor, found);
			checkedAnchors.set(/** @type {string} */ (anchor), ok);
		}
		if (!ok || !safeMatches(el, /** @type {string} */ (sel))) sel = fullPath(el);
		selectorCache.set(el, /** @type {string} */ (sel));
		return /** @type {string} */ (sel);
	};

	/** The ancestor of `el` that `anchor` selects, or null. */
	const anchorElement = (/** @type {Element} */ el, /** @type {string} */ anchor) => {
		for (let e = el.parentElement; e; e = e.parentElement) if (safeMatches(e, anchor)) return e;
		return null;
	};

	const safeMatches = (/** @type {Element} */ el, /** @type {string} */ sel) => {
		try {
			return el.matches(sel);
		} catch {
			return false;
		}
	};

	// ---- visibility -------------------------------------------------------------------------------------------
	const hasCheckVisibility = typeof (/** @type {any} */ (root)).checkVisibility === "function";
	/** Rendered with a non-empty box and not hidden by display, visibility or content-visibility. */
	const isVisible = (/** @type {Element} */ el) => {
		if (hasCheckVisibility) {
			if (!(/** @type {any} */ (el)).checkVisibility({ checkVisibilityCSS: true })) return false;
		} else {
			const style = getComputedStyle(el);
			if (style.display === "none" || style.visibility === "hidden" || style.visibility === "collapse") return false;
		}
		const rect = el.getBoundingClientRect();
		return rect.width > 0 && rect.height > 0;
	};

	// ---- lists ------------------------------------------------------------------------------------------------
	const landmarks = [];
	for (const { el, role } of landmarkEls) {
		if (landmarks.length >= maxItems) break;
		const label = ariaName(el) || clip(el.getAttribute("title"));
		landmarks.push({ role, label: label || null, selector: selectorOf(el) });
	}

	const origin = location.origin;
	/** @type {{href: string, text: string}[]} */
	const internal = [];
	/** @type {{href: string, text: string}[]} */
	const external = [];
	/** @type {Set<string>} */
	const seen = new Set();
	let internalCount = 0;
	let externalCount = 0;
	let otherCount = 0;
	for (const el of linkEls) {
		let href = /** @type {any} */ (el).href;
		if (typeof href !== "string") {
			// An SVG <a>: href is an SVGAnimatedString.
			try {
				href = new URL(el.getAttribute("href") || "", document.baseURI).href;
			} catch {
				continue;
			}
		}
		let url;
		try {
			url = new URL(href);
		} catch {
			otherCount++;
			continue;
		}
		if (url.protocol !== "http:" && url.protocol !== "https:") {
			otherCount++;
			continue;
		}
		if (seen.has(href)) continue;
		seen.add(href);
		if (url.origin === origin) {
			internalCount++;
			if (internal.length < maxItems) internal.push({ href, text: accessibleName(el) });
		} else {
			externalCount++;
			if (external.length < maxItems) external.push({ href, text: accessibleName(el) });
		}
	}

	/** The value of an attribute resolved to an absolute URL (form.action is shadowed by a field named "action"). */
	const absolute = (/** @type {string | null} */ value) => {
		try {
			return new URL(value || "", document.baseURI).href;
		} catch {
			return value || "";
		}
	};

	const forms = [];
	for (const form of formEls) {
		if (forms.length >= maxItems) break;
		const fields = [];
		// form.elements also holds controls outside the form that point at it with form="...".
		for (const control of Array.from(form.elements)) {
			const tag = control.tagName;
			if (tag !== "INPUT" && tag !== "SELECT" && tag !== "TEXTAREA") continue;
			const c = /** @type {any} */ (control);
			const type = tag === "INPUT" ? c.type : tag === "SELECT" ? (c.multiple ? "select-multiple" : "select-one") : "textarea";
			if (tag === "INPUT" && BUTTON_INPUT_TYPES.has(type)) continue;
			if (fields.length >= MAX_FIELDS) break;
			const label =
				ariaName(control) || labelsName(control) || clip(control.getAttribute("title")) || clip(control.getAttribute("placeholder"));
			/** @type {any} */
			const field = {
				tag: control.localName,
				type,
				name: control.getAttribute("name"),
				id: control.id || null,
				label: label || null,
				required: !!c.required,
				placeholder: control.getAttribute("placeholder")
			};
			if (tag === "SELECT") {
				const values = [];
				for (const option of c.options) {
					if (values.length >= MAX_SELECT_OPTIONS) break;
					values.push(option.value);
				}
				field.options = values;
			}
			fields.push(field);
		}
		forms.push({
			selector: selectorOf(form),
			name: form.getAttribute("name"),
			id: form.id || null,
			action: absolute(form.getAttribute("action")),
			method: (form.getAttribute("method") || "get").toLowerCase(),
			fields
		});
	}

	const interactiveItems = [];
	let interactiveTotal = 0;
	for (const { el, role } of interactiveEls) {
		if (!isVisible(el)) continue;
		interactiveTotal++;
		if (interactiveItems.length >= maxItems) continue;
		/** @type {any} */
		const item = { role, name: accessibleName(el), tag: el.localName, selector: selectorOf(el) };
		if (/** @type {any} */ (el).disabled === true || el.getAttribute("aria-disabled") === "true") item.disabled = true;
		interactiveItems.push(item);
	}

	const tables = [];
	for (const table of tableEls) {
		if (tables.length >= maxItems) break;
		const rows = table.rows;
		let columns = 0;
		for (const row of rows) {
			let width = 0;
			for (const cell of row.cells) width += cell.colSpan || 1;
			if (width > columns) columns = width;
		}
		const headerRow = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : rows[0];
		const headers = [];
		if (headerRow)
			for (const cell of headerRow.cells) {
				if (headers.length >= MAX_TABLE_HEADERS) break;
				if (cell.tagName === "TH" || headerRow.parentElement === table.tHead) headers.push(clip(labelText(cell)));
			}
		tables.push({
			selector: selectorOf(table),
			caption: table.caption ? clip(labelText(table.caption), 200) || null : null,
			rows: rows.length,
			columns,
			headers
		});
	}

	// innerText is the rendered text (no script or style bodies, nothing hidden): what a reader would count.
	const bodyText = document.body ? document.body.innerText || "" : "";
	let words = 0;
	const wordPattern = /\S+/g;
	while (wordPattern.exec(bodyText)) words++;

	const topTags = Array.from(tagCounts)
		.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
		.slice(0, MAX_TOP_TAGS);
	/** @type {Record<string, number>} */
	const topTagCounts = {};
	for (const [tag, count] of topTags) topTagCounts[tag.toLowerCase()] = count;

	return {
		url: location.href,
		title: document.title,
		meta,
		dom: { elementCount, maxDepth, tagCounts: topTagCounts },
		headings,
		landmarks,
		links: { internalCount, externalCount, otherCount, internal, external },
		forms,
		interactive: { total: interactiveTotal, items: interactiveItems },
		tables,
		text: { characters: bodyText.replace(/\s+/g, " ").trim().length, words, paragraphs, language: meta.lang },
		extractMillis: Math.round((performance.now() - started) * 100) / 100
	};
}
