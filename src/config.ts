/**
 * The one typed configuration of Nightshift. Every value comes from this schema, which is also the source of the
 * defaults and of the README's configuration table (a unit test keeps the two in step).
 */
import os from "node:os";
import path from "node:path";
import { MAX_TIMER_MILLIS } from "./time";

type Parser<T> = (raw: string, env: string) => T;

interface Option<T> {
	/** Environment variable that overrides the default. */
	env: string;
	/** Default value when the variable is unset or empty. */
	default: T;
	/** What it does (shown in the README table). */
	doc: string;
	parse: Parser<T>;
}

const str: Parser<string> = raw => raw;
const bool: Parser<boolean> = (raw, env) => {
	if (/^(1|true|yes|on)$/i.test(raw)) return true;
	if (/^(0|false|no|off)$/i.test(raw)) return false;
	throw new Error(`${env} must be true or false, got "${raw}"`);
};
const int =
	(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
	(raw, env) => {
		const value = Number(raw);
		if (!Number.isInteger(value) || value < min || value > max)
			throw new Error(`${env} must be an integer from ${min} to ${max}, got "${raw}"`);
		return value;
	};
// Durations end up in timers: one longer than Node keeps is refused at start.
const millis = (min: number): Parser<number> => int(min, MAX_TIMER_MILLIS);
const secs = (min: number): Parser<number> => int(min, Math.floor(MAX_TIMER_MILLIS / 1000));
const list: Parser<string[]> = raw =>
	raw
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);

function option<T>(env: string, def: T, parse: Parser<T>, doc: string): Option<T> {
	return { env, default: def, parse, doc };
}

/** The services that exist today; `SERVICES` defaults to all of them (embedded mode). */
export const ALL_SERVICES = ["api", "scheduler", "profile", "session-manager", "browser-pool", "resource-guard"] as const;

export const CONFIG_SCHEMA = {
	nodeID: option("NODE_ID", `${os.hostname()}-${process.pid}`, str, "Moleculer node ID of this process."),
	namespace: option("NAMESPACE", "nightshift", str, "Moleculer namespace: nodes only see nodes of the same namespace."),
	transporter: option(
		"TRANSPORTER",
		"",
		str,
		"Transporter URL (e.g. `nats://127.0.0.1:4222`). Empty: embedded mode, no transporter."
	),
	services: option(
		"SERVICES",
		[...ALL_SERVICES] as string[],
		list,
		"Comma-separated services this process runs (`api,scheduler,profile,session-manager,browser-pool,resource-guard`)."
	),
	mongoUri: option("MONGO_URI", "", str, "MongoDB connection string. Empty: NeDB files under `DATA_DIR`."),
	dataDir: option("DATA_DIR", path.resolve("data"), str, "Directory for NeDB files and artifacts (embedded mode); `:memory:` keeps NeDB in memory."),
	logLevel: option("LOG_LEVEL", "info", str, "Log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace`, or `silent`."),
	host: option("HOST", "127.0.0.1", str, "Address the HTTP gateway listens on."),
	port: option("PORT", 3000, int(0, 65535), "Port of the HTTP gateway (0 picks a free one)."),
	apiKeys: option(
		"API_KEYS",
		[] as string[],
		list,
		"Comma-separated API keys (`x-api-key` or `Authorization: Bearer`). Required when `HOST` is not loopback."
	),
	bodyLimit: option("BODY_LIMIT", "1mb", str, "Largest JSON body the gateway accepts (larger: 413)."),
	allowPrivateNetworks: option(
		"ALLOW_PRIVATE_NETWORKS",
		false,
		bool,
		"Let tasks reach loopback and private addresses (cloud metadata addresses stay refused)."
	),
	workerConcurrency: option(
		"WORKER_CONCURRENCY",
		8,
		int(1, 10000),
		"Tasks one `browser-pool` node runs at the same time."
	),
	workerPrefetch: option(
		"WORKER_PREFETCH",
		24,
		int(0, 10000),
		"Most tasks a worker leases ahead of its free slots, used only while tasks end faster than a lease round trip (slots × round trip ÷ task duration); 0: none."
	),
	workerNice: option(
		"WORKER_NICE",
		10,
		int(0, 19),
		"CPU priority (nice) of a node that runs only `browser-pool` (and `resource-guard`), and of the Chromium it starts: background work yields the CPU to the scheduler, the gateway and anything else on the same machine. 0 leaves it as started."
	),
	leaseMillis: option(
		"LEASE_MILLIS",
		3000,
		millis(1000),
		"Lease length; the worker renews at a third of it. An unrenewed lease puts the task back."
	),
	leaseWaitMillis: option(
		"LEASE_WAIT_MILLIS",
		5000,
		int(0, 30000),
		"An idle worker's lease call waits at the scheduler this long for work, and is answered as soon as some is queued (0: answered at once; the work-available broadcast and the poll remain)."
	),
	shutdownGraceMillis: option(
		"SHUTDOWN_GRACE_MILLIS",
		10000,
		millis(0),
		"On SIGTERM, how long running tasks may finish before they are handed back as queued."
	),
	defaultTimeoutMillis: option(
		"DEFAULT_TASK_TIMEOUT_MILLIS",
		60000,
		millis(1),
		"Task timeout for types that declare none."
	),
	defaultMaxAttempts: option(
		"DEFAULT_MAX_ATTEMPTS",
		3,
		int(1, 100),
		"Attempts before a task goes to the dead letters, for types that declare none."
	),
	taskDirs: option(
		"TASK_DIRS",
		[] as string[],
		list,
		"Extra comma-separated directories of task type files, loaded after the built-in `tasks/`."
	),
	taskRetentionHours: option(
		"TASK_RETENTION_HOURS",
		168,
		int(0),
		"Completed and cancelled tasks older than this are deleted (0 keeps them). Dead letters are kept."
	),
	heartbeatMillis: option("HEARTBEAT_MILLIS", 5000, millis(100), "How often a worker reports its state to schedulers."),
	requestTimeoutMillis: option("REQUEST_TIMEOUT_MILLIS", 10000, millis(100), "Timeout of a service call between nodes."),
	clusterHeartbeatSecs: option(
		"CLUSTER_HEARTBEAT_SECS",
		1,
		int(1, 60),
		"Moleculer node heartbeat interval (cluster mode)."
	),
	clusterHeartbeatTimeoutSecs: option(
		"CLUSTER_HEARTBEAT_TIMEOUT_SECS",
		3,
		int(2, 300),
		"A node silent this long is gone: its leases are handed back at once."
	),
	chromiumPath: option("CHROMIUM_PATH", "/usr/bin/chromium", str, "Chromium executable the browser pool launches (Debian's `chromium`)."),
	maxBrowsers: option("MAX_BROWSERS", 2, int(1, 64), "Browsers one `browser-pool` node runs at most."),
	// 10 = the default WORKER_CONCURRENCY plus WARM_CONTEXTS: with 8, a fully busy default node launched a second browser
	// only to hold its two prepared contexts (a browser, GPU and network process more for the same work).
	maxContextsPerBrowser: option(
		"MAX_CONTEXTS_PER_BROWSER",
		10,
		int(1, 256),
		"Contexts (sessions, busy or prepared) one browser holds at most. Browser slots of a node: `MAX_BROWSERS` × this."
	),
	warmContexts: option(
		"WARM_CONTEXTS",
		2,
		int(0, 256),
		"Contexts kept ready ahead of demand, so a task gets a page without waiting for one (0: none, Chromium starts on first use). Never more default contexts in all than `WORKER_CONCURRENCY`."
	),
	contextMaxUses: option(
		"CONTEXT_MAX_USES",
		50,
		int(1),
		"A context is cleared between tasks (its tab sent to about:blank; cookies, storage, permissions, history, HTTP cache) this many times, then replaced."
	),
	contextClearHttpCache: option(
		"CONTEXT_CLEAR_HTTP_CACHE",
		true,
		bool,
		"Empty a context's HTTP cache between tasks, as a fresh context's is. `false` lets the tasks a context serves share cached responses (faster on sites they share; a site can tell them apart from fresh visitors, or set an ETag that links them)."
	),
	browserRetireAfterSessions: option(
		"BROWSER_RETIRE_AFTER_SESSIONS",
		500,
		int(1),
		"A browser is retired (closed once idle, replaced) after serving this many sessions."
	),
	browserIdleSecs: option("BROWSER_IDLE_SECS", 120, secs(1), "A browser with no busy context for this long is closed."),
	browserLaunchTimeoutMillis: option("BROWSER_LAUNCH_TIMEOUT_MILLIS", 30000, millis(1000), "Deadline of a Chromium launch."),
	browserRelaunchSecs: option(
		"BROWSER_RELAUNCH_SECS",
		15,
		secs(1),
		"After Chromium failed to start, a `browser-pool` node tries again this often. Until it starts, the node takes no browser tasks."
	),
	browserOperationTimeoutMillis: option(
		"BROWSER_OPERATION_TIMEOUT_MILLIS",
		10000,
		millis(100),
		"Deadline of every other browser call of the pool (new context or page, clearing, closing)."
	),
	sessionMaxMemoryMb: option(
		"SESSION_MAX_MEMORY_MB",
		512,
		int(16),
		"Memory a session's renderers may hold (V8 + DOM heaps and ArrayBuffers); over it the session is closed."
	),
	sessionMaxDurationSecs: option("SESSION_MAX_DURATION_SECS", 300, secs(1), "Longest a browser session may stay open."),
	sessionMaxPages: option("SESSION_MAX_PAGES", 10, int(1, 1000), "Most pages a session may open, the first included."),
	sessionCheckMillis: option("SESSION_CHECK_MILLIS", 500, millis(50), "How often held sessions are checked against their limits."),
	resultCacheTtlSecs: option(
		"RESULT_CACHE_TTL_SECS",
		3600,
		secs(1),
		"How long a cached task result (e.g. `page.parse`) is served, for types that declare no TTL."
	),
	nightshiftSecret: option(
		"NIGHTSHIFT_SECRET",
		"",
		str,
		"Secret (16+ chars) the key that encrypts profile cookies, localStorage and proxy credentials is derived from; every node of a cluster needs the same. Empty: a key file created once under `DATA_DIR` (0600)."
	),
	profileSessionIdleSecs: option(
		"PROFILE_SESSION_IDLE_SECS",
		900,
		secs(1),
		"A profile session without an action for this long is stopped (state saved)."
	),
	profileSessionMaxSecs: option(
		"PROFILE_SESSION_MAX_SECS",
		14400,
		secs(1),
		"Longest a profile session may run; then it is stopped (state saved)."
	),
	profileSnapshotSecs: option(
		"PROFILE_SNAPSHOT_SECS",
		30,
		secs(1),
		"How often a running profile session's cookies and localStorage are saved: a crash loses at most this much."
	),
	sessionLockStaleSecs: option(
		"SESSION_LOCK_STALE_SECS",
		15,
		secs(2),
		"A session lock whose node sent no heartbeat for this long is stale: another start takes the profile over."
	),
	sessionStartWaitMillis: option(
		"SESSION_START_WAIT_MILLIS",
		10000,
		millis(0),
		"How long a profile start waits for a free browser slot before it answers 503."
	),
	pollMillis: option(
		"WORKER_POLL_MILLIS",
		1000,
		millis(10),
		"Idle worker's fallback poll for work (work-available events wake it sooner)."
	)
};

export type ConfigSchema = typeof CONFIG_SCHEMA;
export type Config = { [K in keyof ConfigSchema]: ConfigSchema[K]["default"] };

/** Reads the configuration from `env`; throws one readable error for the first bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
	const config = {} as Record<string, unknown>;
	for (const [key, opt] of Object.entries(CONFIG_SCHEMA) as [string, Option<unknown>][]) {
		const raw = env[opt.env];
		config[key] = raw === undefined || raw === "" ? opt.default : opt.parse(raw, opt.env);
	}
	const result = { ...(config as Config), ...overrides };
	if (!isLoopback(result.host) && result.apiKeys.length === 0)
		throw new Error(`HOST=${result.host} is not a loopback address: set API_KEYS to protect the gateway`);
	return result;
}

export function isLoopback(host: string): boolean {
	return host === "localhost" || host === "::1" || /^127\./.test(host);
}
