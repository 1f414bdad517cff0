import Validator from "fastest-validator";

/**
 * Options of every fastest-validator here: Moleculer's (action params) and the ones task types and session steps are
 * checked with, so a rule reads and reports the same wherever it is used. Custom checks take Moleculer's form
 * (`(value, errors) => value`).
 */
export const VALIDATOR_OPTIONS = {
	useNewCustomCheckerFunction: true,
	messages: {
		// fastest-validator's own enum message prints the allowed values as if they were the value received.
		enumValue: "The '{field}' field must be one of: {expected} (got '{actual}').",
		timeZone: "The '{field}' field must be an IANA time zone such as Europe/Berlin (got '{actual}')."
	}
};

export function createValidator(): Validator {
	return new Validator(VALIDATOR_OPTIONS);
}

/** The zones this runtime's ICU knows; Chromium refuses the others when a context is made. */
export function isTimeZone(value: string): boolean {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: value });
		return true;
	} catch {
		return false;
	}
}

/** An IANA time zone name, refused at submit instead of failing every attempt in the browser. */
export const TIME_ZONE_RULE = {
	type: "string",
	min: 1,
	max: 64,
	custom: (value: unknown, errors: { type: string; actual: unknown }[]) => {
		if (typeof value === "string" && !isTimeZone(value)) errors.push({ type: "timeZone", actual: value });
		return value;
	}
};
