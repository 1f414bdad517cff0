import path from "node:path";
import type { Config } from "../config";
import { BUILTIN_TASK_DIR, TaskRegistry } from "./registry";

/** The task types of this deployment: the built-in `tasks/` plus `TASK_DIRS`. Schedulers and workers both load it. */
export function loadTaskRegistry(config: Config): TaskRegistry {
	return TaskRegistry.fromDirs([BUILTIN_TASK_DIR, ...config.taskDirs.map(dir => path.resolve(dir))], {
		timeoutMillis: config.defaultTimeoutMillis,
		maxAttempts: config.defaultMaxAttempts
	});
}
