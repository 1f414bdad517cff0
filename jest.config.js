/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: "node",
	roots: ["<rootDir>/test"],
	testMatch: ["**/*.spec.ts"],
	// Transpile only: `npm run typecheck` is the type gate, so tests stay fast.
	transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
	testTimeout: 60000,
	// Integration and cluster specs start brokers, servers and child processes: one file at a time.
	maxWorkers: 1
};
