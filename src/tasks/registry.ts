import fs from "node:fs";
import path from "node:path";
import { InvalidPayloadError, UnknownTaskTypeError } from "../errors";
import { DEFAULT_RETRY, RetryPolicy } from "../scheduler/retry-policy";
import type { TaskDefinition } from "./definition";
import type { UrlPolicy } from "./url-policy";
import { createValidator } from "../validation";

/** The built-in task types ship here: one file per type. */
export const BUILTIN_TASK_DIR = path.resolve(__dirname, "../../tasks");

export interface RegistryDefaults {
	timeoutMillis: number;
	maxAttempts: number;
}

/** A registered type with its defaults filled in and its payload check compiled. */
export interface TaskType {
	definition: TaskDefinition;
	name: string;
	timeoutMillis: number;
	retry: RetryPolicy;
	concurrency: number;
	estimatedDurationMillis: number;
	/** Needs a browser (`TaskDefinition.browser`). */
	browser: boolean;
	check: (payload: unknown) => true | unknown[];
}

const validator = createValidator();

/** Task types by name, loaded from files. Scheduler and workers load the same files. */
export class TaskRegistry {
	private readonly types = new Map<string, TaskType>();

	constructor(private readonly defaults: RegistryDefaults) {}

	/** Loads every `*.ts` / `*.js` file of `dirs` (declaration files excluded); each exports a definition. */
	static fromDirs(dirs: string[], defaults: RegistryDefaults): TaskRegistry {
		const registry = new TaskRegistry(defaults);
		for (const dir of dirs) {
			for (const file of fs.readdirSync(dir).sort()) {
				if (!/\.(ts|js)$/.test(file) || file.endsWith(".d.ts")) continue;
				const mod = require(path.join(dir, file));
				const def: TaskDefinition | undefined = mod.default ?? mod.task;
				if (!def || typeof def.handler !== "function")
					throw new Error(`${path.join(dir, file)} does not export a task definition (export default defineTask(...))`);
				registry.register(def);
			}
		}
		return registry;
	}

	register(def: TaskDefinition): TaskType {
		if (!/^[a-z][a-z0-9._-]*$/.test(def.name)) throw new Error(`Task type name "${def.name}" is not a lowercase slug`);
		if (this.types.has(def.name)) throw new Error(`Task type "${def.name}" is defined twice`);
		const type: TaskType = {
			definition: def,
			name: def.name,
			timeoutMillis: def.timeoutMillis ?? this.defaults.timeoutMillis,
			retry: { maxAttempts: this.defaults.maxAttempts, ...DEFAULT_RETRY, ...def.retry },
			concurrency: def.concurrency ?? Infinity,
			estimatedDurationMillis: def.estimatedDurationMillis ?? 1000,
			browser: def.browser ?? false,
			check: validator.compile({ $$strict: true, ...def.params }) as TaskType["check"]
		};
		this.types.set(def.name, type);
		return type;
	}

	get(name: string): TaskType {
		const type = this.types.get(name);
		if (!type) throw new UnknownTaskTypeError(name, this.names());
		return type;
	}

	has(name: string): boolean {
		return this.types.has(name);
	}

	names(): string[] {
		return [...this.types.keys()];
	}

	/** The types whose handlers need a browser. */
	browserTypes(): string[] {
		return [...this.types.values()].filter(t => t.browser).map(t => t.name);
	}

	/** Checks a payload against the type's schema and its URLs against the policy; throws a 422 otherwise. */
	async validate(name: string, payload: unknown, policy: UrlPolicy): Promise<TaskType> {
		const type = this.get(name);
		const result = type.check(payload ?? {});
		if (result !== true) throw new InvalidPayloadError(name, result);
		for (const url of type.definition.urls?.(payload) ?? []) await policy.assertAllowed(url);
		return type;
	}

	/** What `GET /api/task-types` shows. */
	describe() {
		return [...this.types.values()].map(t => ({
			name: t.name,
			description: t.definition.description,
			params: t.definition.params,
			timeoutMillis: t.timeoutMillis,
			retry: t.retry,
			concurrency: Number.isFinite(t.concurrency) ? t.concurrency : null,
			estimatedDurationMillis: t.estimatedDurationMillis,
			browser: t.browser
		}));
	}
}
