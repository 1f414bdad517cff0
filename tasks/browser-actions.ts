import { TaskError } from "../src/errors";
import { type ActionStep, ACTION_STEPS_SCHEMA, runActions } from "../src/session/actions";
import { defineTask } from "../src/tasks/definition";

/**
 * Declarative browser steps as a task: the automation a user schedules. Submitted with `profileId`, it runs inside that
 * profile's session (its cookies, storage, fingerprint, proxy), after the profile's earlier tasks.
 */
export default defineTask<{ steps: ActionStep[]; timeoutMs?: number }>({
	name: "browser.actions",
	description: "Runs declarative browser steps (goto, click, fill, press, wait, extract, screenshot); with profileId inside that profile.",
	params: ACTION_STEPS_SCHEMA,
	timeoutMillis: 120000,
	estimatedDurationMillis: 3000,
	browser: true,
	urls: payload => payload.steps.flatMap(step => ("goto" in step && typeof step.goto === "string" ? [step.goto] : [])),
	async handler(ctx) {
		const session = await ctx.browser();
		const outcome = await runActions(session.page, ctx.payload.steps, {
			timeoutMs: ctx.payload.timeoutMs ?? 10000,
			signal: ctx.signal,
			checkUrl: url => ctx.urls.assertAllowed(url),
			saveArtifact: async (data, input) => {
				const meta = await ctx.saveArtifact(data, input);
				return { id: meta.id, url: `/api/artifacts/${meta.id}` };
			}
		});
		if (!outcome.ok && outcome.error) {
			const { step, action, type, message } = outcome.error;
			// A page that did not show what the steps expect may show it later; a refused URL never will.
			const errorClass = type === "STEP_URL_NOT_ALLOWED" ? "fatal" : "retryable";
			throw new TaskError(`Step ${step} (${action}) failed: ${message}`, errorClass, type, { results: outcome.results });
		}
		return outcome;
	}
});
