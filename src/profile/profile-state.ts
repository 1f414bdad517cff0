import type { Cookie } from "./cookie-formats";

/** The localStorage of one origin (and its IndexedDB when the profile keeps it), as Playwright's storage state has it. */
export interface OriginStorage {
	origin: string;
	localStorage: { name: string; value: string }[];
	/** Playwright's serialized IndexedDB databases of the origin (profiles with `persistIndexedDB`). */
	indexedDB?: unknown[];
}

/** What a profile carries from one session to the next. Stored sealed (AES-256-GCM), never in clear. */
export interface ProfileState {
	cookies: Cookie[];
	origins: OriginStorage[];
}

export const EMPTY_STATE: ProfileState = { cookies: [], origins: [] };

/** Counts kept in clear next to the sealed state, so listings need no key. */
export interface StateInfo {
	cookies: number;
	origins: number;
	/** When the state was last written (a start's import, a snapshot, a stop). */
	savedAt: string | null;
}

export function stateInfo(state: ProfileState, savedAt: string | null): StateInfo {
	return { cookies: state.cookies.length, origins: state.origins.length, savedAt };
}
