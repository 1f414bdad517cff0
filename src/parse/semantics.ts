import type { PageExtract } from "./extract";

export type PageKind = "login" | "search" | "form" | "article" | "listing" | "other";

/** What the page is for, told from its structure (the "semantic analysis" step of shared/seeds/001 §4.1). */
export interface PageSemantics {
	kind: PageKind;
	primaryHeading: string | null;
	hasLoginForm: boolean;
	hasSearch: boolean;
	/** Links inside navigation landmarks are not counted apart: this is the share of all links that stay on site. */
	internalLinkRatio: number;
	/** Forms by purpose, in page order. */
	formPurposes: ("login" | "search" | "signup" | "contact" | "other")[];
}

const field = (f: { type: string; name: string | null; label: string | null }) => `${f.type} ${f.name ?? ""} ${f.label ?? ""}`.toLowerCase();

function formPurpose(form: PageExtract["forms"][number]): PageSemantics["formPurposes"][number] {
	const fields = form.fields.map(field);
	const passwords = form.fields.filter(f => f.type === "password").length;
	if (passwords >= 2 || (passwords >= 1 && fields.some(f => /confirm|repeat|sign ?up|register/.test(f)))) return "signup";
	if (passwords === 1) return "login";
	if (form.fields.some(f => f.type === "search") || (form.fields.length <= 2 && fields.some(f => /search|query|\bq\b/.test(f)))) return "search";
	if (form.fields.some(f => f.tag === "textarea") && fields.some(f => /mail/.test(f))) return "contact";
	return "other";
}

export function analyse(extract: PageExtract): PageSemantics {
	const formPurposes = extract.forms.map(formPurpose);
	const hasLoginForm = formPurposes.includes("login");
	const hasSearch = formPurposes.includes("search") || extract.landmarks.some(l => l.role === "search");
	const { internalCount, externalCount } = extract.links;
	const totalLinks = internalCount + externalCount;
	let kind: PageKind = "other";
	if (hasLoginForm) kind = "login";
	else if (formPurposes.some(p => p === "contact" || p === "signup" || p === "other")) kind = "form";
	else if (extract.text.paragraphs >= 3 && extract.text.words >= 250) kind = "article";
	else if (totalLinks >= 30 || extract.tables.some(t => t.rows >= 10)) kind = "listing";
	else if (hasSearch) kind = "search";
	return {
		kind,
		primaryHeading: extract.headings.find(h => h.level === 1)?.text ?? extract.headings[0]?.text ?? null,
		hasLoginForm,
		hasSearch,
		internalLinkRatio: totalLinks === 0 ? 0 : Math.round((internalCount / totalLinks) * 1000) / 1000,
		formPurposes
	};
}
