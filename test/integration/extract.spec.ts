import { chromium, type Browser, type BrowserContext, type Page } from "playwright";
import { CHROMIUM_ARGS } from "../../src/browser/launch";
import { extractPage, type PageExtract } from "../../src/parse/extract";
import { startSite, type Site } from "../fixtures/site/site";

jest.setTimeout(30_000);

describe("extractPage", () => {
	let site: Site;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;

	beforeAll(async () => {
		site = await startSite({ pages: 40 });
		browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: CHROMIUM_ARGS });
	});
	afterAll(async () => {
		await browser?.close();
		await site?.close();
	});
	beforeEach(async () => {
		context = await browser.newContext();
		page = await context.newPage();
	});
	afterEach(async () => {
		await context.close();
	});

	/** Opens generated page `index` and extracts it. */
	const open = async (index: number, options = {}): Promise<PageExtract> => {
		await page.goto(site.pageUrls[index], { waitUntil: "load" });
		return extractPage(page, options);
	};
	/** Hrefs as the site wrote them, made absolute against the page and deduplicated, as the extractor reports them. */
	const absolute = (hrefs: string[], index: number) => [...new Set(hrefs.map(h => new URL(h, site.pageUrls[index]).href))];

	// Page kinds cycle category, product, article, help (index % 4); page 0 is the home page (a category).
	const PRODUCT_WITH_LOGIN = 1;
	const ARTICLE = 2;
	const HELP_WITH_CONTACT = 3;

	it("reports title, meta and the heading outline in document order", async () => {
		const result = await open(ARTICLE);
		const model = site.model(ARTICLE);
		expect(result.url).toBe(site.pageUrls[ARTICLE]);
		expect(result.title).toBe(model.title);
		expect(result.meta).toMatchObject({
			lang: model.lang,
			charset: "UTF-8",
			viewport: "width=device-width, initial-scale=1",
			canonical: site.pageUrls[ARTICLE],
			robots: null,
			openGraph: { "og:type": "website", "og:title": model.title.replace(" · Nightshift", "") }
		});
		expect(result.meta.description).toMatch(/\.$/);
		expect(result.headings).toEqual(model.headings);
		expect(result.headings[0]).toEqual({ level: 1, text: model.title.replace(" · Nightshift", "") });
		expect(result.text.language).toBe(model.lang);
		expect(result.text.words).toBeGreaterThan(200);
		expect(result.text.paragraphs).toBeGreaterThan(5);
		expect(result.dom.maxDepth).toBeGreaterThan(5);
		expect(result.dom.tagCounts.a).toBeGreaterThan(20);
		expect(Object.keys(result.dom.tagCounts).length).toBeLessThanOrEqual(20);
	});

	it("reads every field of a form with labels of every kind", async () => {
		const result = await open(HELP_WITH_CONTACT);
		const contact = result.forms.find(f => f.id === "contact-form");
		expect(contact).toMatchObject({
			selector: "#contact-form",
			name: "contact",
			action: `${site.baseUrl}/contact`,
			method: "post"
		});
		expect(contact!.fields.map(f => [f.type, f.name, f.label, f.required])).toEqual([
			["hidden", "csrf", null, false],
			["text", "name", "Your name", true], // <label for>
			["email", "email", "Email address", true], // wrapping label
			["select-one", "topic", "Topic", false],
			["textarea", "message", "Your message", true], // aria-labelledby
			["tel", "phone", "Phone (optional)", false], // placeholder only
			["checkbox", "newsletter", "Send me the newsletter", false] // wrapping label after the control
		]);
		expect(contact!.fields.find(f => f.name === "topic")!.options).toEqual(["", "order", "return", "other"]);
		const search = result.forms.find(f => f.action.startsWith(`${site.baseUrl}/search`));
		expect(search).toMatchObject({ method: "get", fields: [{ type: "search", name: "q", label: "Search the shop" }] });
	});

	it("counts internal, external and other links, deduplicated and absolute", async () => {
		for (const index of [0, PRODUCT_WITH_LOGIN, ARTICLE]) {
			const result = await open(index);
			const model = site.model(index);
			const internal = absolute(model.internalHrefs, index);
			expect(result.links.internalCount).toBe(internal.length);
			expect(result.links.internal.map(l => l.href).sort()).toEqual([...internal].sort());
			expect(result.links.externalCount).toBe(model.externalHrefs.length);
			expect(result.links.external.map(l => l.href).sort()).toEqual([...model.externalHrefs].sort());
			expect(result.links.otherCount).toBe(model.otherLinks);
			expect(internal.length).toBeGreaterThanOrEqual(20);
			expect(internal.length).toBeLessThanOrEqual(60);
		}
		const home = await open(0);
		// Deduplicated by href, the first link wins: the logo, named by its image's alt.
		expect(home.links.internal).toContainEqual({ href: `${site.baseUrl}/`, text: "Nightshift Home Goods" });
		expect(home.links.external).toContainEqual({ href: expect.stringMatching(/^http:\/\/example\.invalid\/journal\//), text: "Journal" });
	});

	it("finds landmarks from HTML elements and ARIA roles", async () => {
		const result = await open(PRODUCT_WITH_LOGIN);
		expect(result.landmarks.map(l => [l.role, l.label])).toEqual([
			["banner", null],
			["navigation", "Main"],
			["search", null],
			["main", null],
			["navigation", "Breadcrumb"],
			["region", "Reviews"], // a section named by aria-labelledby
			["form", "Sign in"], // a named form
			["complementary", "Related"],
			["contentinfo", null]
		]);
	});

	it("keeps header and footer of sectioning content out of the page landmarks", async () => {
		await page.goto(`${site.baseUrl}/status/404`);
		await page.setContent(`<body>
			<header>site</header>
			<article><header>article header</header><footer>article footer</footer></article>
			<main><header>main header</header><section aria-label="Details">x</section><section>unnamed</section></main>
			<div role="navigation" aria-labelledby="nav-title"><h2 id="nav-title">Chapters</h2></div>
			<form><input name="a"></form>
			<footer>site footer</footer>
		</body>`);
		const result = await extractPage(page);
		expect(result.landmarks.map(l => [l.role, l.label])).toEqual([
			["banner", null],
			["main", null],
			["region", "Details"],
			["navigation", "Chapters"],
			["contentinfo", null]
		]);
	});

	it("gives selectors that resolve to the element they describe", async () => {
		const result = await open(PRODUCT_WITH_LOGIN);
		expect(result.interactive.items.find(i => i.name === "Add to cart")).toMatchObject({
			role: "button",
			tag: "button",
			selector: '[data-testid="add-to-cart"]'
		});
		expect(result.interactive.items.find(i => i.name === "Username")).toMatchObject({ role: "textbox", selector: "#login-user" });
		const described = [
			...result.interactive.items.map(i => ({ selector: i.selector, tag: i.tag, name: i.name })),
			...result.landmarks.map(l => ({ selector: l.selector, tag: undefined, name: undefined })),
			...result.forms.map(f => ({ selector: f.selector, tag: "form", name: undefined })),
			...result.tables.map(t => ({ selector: t.selector, tag: "table", name: undefined }))
		];
		expect(described.length).toBeGreaterThan(50);
		for (const { selector, tag, name } of described) {
			const locator = page.locator(selector);
			expect(await locator.count()).toBe(1);
			const found = await locator.evaluate(el => ({
				tag: el.localName,
				label: el.getAttribute("aria-label") ?? el.textContent?.replace(/\s+/g, " ").trim().slice(0, 100)
			}));
			if (tag) expect(found.tag).toBe(tag);
			// Links and buttons with text here are named by aria-label or by that text.
			if (name && found.label && (tag === "a" || tag === "button")) expect(found.label).toBe(name);
		}
	});

	it("builds unique selectors without trusting ids that are not unique", async () => {
		await page.goto(`${site.baseUrl}/status/404`);
		await page.setContent(`<body>
			<div id="dup"><button>One</button></div>
			<div id="dup"><button>Two</button></div>
			<div id="a:b.c"><button data-testid="save">Save</button><button data-testid="same">A</button><button data-testid="same">B</button></div>
			<div><div><div><div><div><div><div><div><span role="button" tabindex="0">Deep</span></div></div></div></div></div></div></div></div>
		</body>`);
		const result = await extractPage(page);
		const byName = new Map(result.interactive.items.map(i => [i.name, i.selector]));
		expect(byName.get("Save")).toBe('[data-testid="save"]');
		expect(byName.get("A")).toBe("#a\\:b\\.c > button:nth-of-type(2)");
		expect(byName.get("One")).not.toContain("#dup");
		for (const name of ["One", "Two", "A", "B", "Deep"]) {
			const selector = byName.get(name)!;
			expect(await page.locator(selector).count()).toBe(1);
			expect(await page.locator(selector).textContent()).toBe(name);
		}
	});

	it("lists only visible interactive elements, with a total", async () => {
		const product = await open(PRODUCT_WITH_LOGIN);
		const names = product.interactive.items.map(i => i.name);
		const model = site.model(PRODUCT_WITH_LOGIN);
		for (const visible of model.visibleButtons) expect(names).toContain(visible);
		for (const hidden of model.hiddenButtons) expect(names).not.toContain(hidden); // display:none, visibility:hidden
		expect(product.interactive.total).toBe(product.interactive.items.length);
		// The mega-menu links are in the DOM but display:none.
		expect(await page.locator(".submenu a").count()).toBe(32);
		expect(names).not.toContain("Best sellers");

		const article = await open(ARTICLE);
		expect(article.interactive.items.map(i => i.name)).not.toContain("Share"); // a zero-size box
		expect(article.interactive.items.find(i => i.role === "searchbox")).toMatchObject({ name: "Search the shop", tag: "input" });

		await page.setContent(`<body>
			<button disabled>Off</button><button aria-disabled="true">Also off</button>
			<div onclick="go()">Clickable</div><div tabindex="-1">Not in tab order</div><summary>More</summary>
			<input type="submit" value="Send"><input type="hidden" name="t"><a>No href</a>
		</body>`);
		const small = await extractPage(page);
		expect(small.interactive.items.map(i => [i.role, i.name, i.disabled ?? false])).toEqual([
			["button", "Off", true],
			["button", "Also off", true],
			["generic", "Clickable", false],
			["button", "More", false],
			["button", "Send", false]
		]);
	});

	it("names elements as a reader sees them", async () => {
		await page.goto(`${site.baseUrl}/status/404`);
		await page.setContent(`<body>
			<a href="/a">Night<b>shift</b></a>
			<a href="/b"><img src="/img/1.png" alt="Logo"> Home</a>
			<button><span>Add</span> <span>to cart</span></button>
			<span id="first">Pay</span><span id="second">now</span><button aria-labelledby="first second">x</button>
			<input type="submit"><input type="image" alt="Go"><input type="text" title="Your city">
			<div role="tab" tabindex="0"><div>Tab</div><div>One</div></div>
			<div onclick="go()" tabindex="-1">Clickable anyway</div>
		</body>`);
		const result = await extractPage(page);
		expect(result.interactive.items.map(i => [i.role, i.name])).toEqual([
			["link", "Nightshift"],
			["link", "Logo Home"],
			["button", "Add to cart"],
			["button", "Pay now"],
			["button", "Submit"],
			["button", "Go"],
			["textbox", "Your city"],
			["tab", "Tab One"],
			["generic", "Clickable anyway"]
		]);
	});

	it("reports tables with caption, size and headers", async () => {
		const result = await open(PRODUCT_WITH_LOGIN);
		expect(result.tables).toHaveLength(1);
		expect(result.tables[0]).toMatchObject({
			caption: "Specifications",
			columns: 3,
			headers: ["Property", "Value", "Notes"]
		});
		expect(result.tables[0].rows).toBeGreaterThanOrEqual(4);
		const help = await open(HELP_WITH_CONTACT);
		expect(help.tables[0]).toMatchObject({ caption: null, rows: 5, columns: 3, headers: ["Zone", "Time", "Cost"] });
	});

	it("caps every list at maxItems and still counts everything", async () => {
		const full = await open(0);
		const capped = await extractPage(page, { maxItems: 5 });
		expect(capped.links.internal).toHaveLength(5);
		expect(capped.links.internalCount).toBe(full.links.internalCount);
		expect(capped.interactive.items).toHaveLength(5);
		expect(capped.interactive.total).toBe(full.interactive.total);
		expect(capped.headings).toHaveLength(5);
		expect(full.interactive.total).toBeGreaterThan(50);
	});

	it("extracts a realistic page quickly", async () => {
		await open(0); // warm the extraction code in this renderer
		const times: number[] = [];
		for (const index of [4, 5, 6, 7, 8]) times.push((await open(index)).extractMillis);
		// Generous for a loaded CI machine; typical is a few milliseconds.
		expect(Math.max(...times)).toBeLessThan(100);
	});
});
