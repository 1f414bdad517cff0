/**
 * Encryption at rest of profile state (cookies, localStorage) and proxy credentials. Every node of a cluster opens
 * what any other node sealed, so the key comes from a shared secret, or from a key file when a single node runs.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Errors } from "moleculer";

/** A JSON value sealed with AES-256-GCM. Base64 fields, so it stores as plain JSON in any collection. */
export interface Sealed {
	alg: "aes-256-gcm";
	v: 1;
	iv: string;
	tag: string;
	data: string;
}

export class SecretMismatchError extends Errors.MoleculerError {
	constructor() {
		super("Encrypted profile data cannot be opened with this node's key: every node must share NIGHTSHIFT_SECRET", 500, "SECRET_MISMATCH");
	}
}

const ALG = "aes-256-gcm";
const KEY_BYTES = 32;
// 96-bit IVs are what GCM is specified for; random ones stay safe far beyond the number of seals a profile store sees.
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
	private readonly key: Buffer;

	constructor(key: Buffer) {
		if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES)
			throw new Error(`SecretBox needs a ${KEY_BYTES}-byte key, got ${Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key}`);
		// A copy, so a caller zeroing or reusing its buffer cannot change the key under us.
		this.key = Buffer.from(key);
	}

	seal(value: unknown): Sealed {
		const json = JSON.stringify(value);
		if (json === undefined) throw new TypeError(`Cannot seal a value JSON cannot represent (${typeof value})`);
		const iv = crypto.randomBytes(IV_BYTES);
		const cipher = crypto.createCipheriv(ALG, this.key, iv, { authTagLength: TAG_BYTES });
		const data = Buffer.concat([cipher.update(json, "utf8"), cipher.final()]);
		return { alg: ALG, v: 1, iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
	}

	open<T = unknown>(sealed: Sealed): T {
		if (!SecretBox.isSealed(sealed)) throw new TypeError(`Not a sealed value: expected { alg: "${ALG}", v: 1, iv, tag, data }`);
		const iv = Buffer.from(sealed.iv, "base64");
		const tag = Buffer.from(sealed.tag, "base64");
		// Fixed lengths: a truncated tag would otherwise be accepted and make forgeries cheaper.
		if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretMismatchError();
		let json: string;
		try {
			const decipher = crypto.createDecipheriv(ALG, this.key, iv, { authTagLength: TAG_BYTES });
			decipher.setAuthTag(tag);
			json = Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8");
		} catch {
			// GCM cannot tell a wrong key from tampered data: both fail authentication.
			throw new SecretMismatchError();
		}
		return JSON.parse(json) as T;
	}

	static isSealed(x: unknown): x is Sealed {
		if (typeof x !== "object" || x === null) return false;
		const s = x as Record<string, unknown>;
		return s.alg === ALG && s.v === 1 && typeof s.iv === "string" && typeof s.tag === "string" && typeof s.data === "string";
	}
}

const MIN_SECRET_LENGTH = 16;
const KEY_SALT = "nightshift-profile-secret";
const KEY_FILE = "secret.key";

let memoryKey: Buffer | undefined;

/**
 * The key profile data is sealed with: derived from `secret` (NIGHTSHIFT_SECRET) when given, so all nodes sharing
 * it agree; else random per process for `:memory:` data; else kept in `<dataDir>/secret.key`, created on first use.
 */
export function loadSecretKey(options: { secret?: string; dataDir: string }): Buffer {
	const { secret, dataDir } = options;
	if (secret) {
		if (secret.length < MIN_SECRET_LENGTH)
			throw new Error(
				`NIGHTSHIFT_SECRET is too short (${secret.length} characters): use at least ${MIN_SECRET_LENGTH}, e.g. \`openssl rand -base64 32\``
			);
		// scrypt rather than a bare hash: secrets are often typed by people, and it runs once per process.
		return crypto.scryptSync(secret, KEY_SALT, KEY_BYTES);
	}
	if (dataDir === ":memory:") return (memoryKey ??= crypto.randomBytes(KEY_BYTES));
	return keyFromFile(path.join(dataDir, KEY_FILE));
}

function keyFromFile(file: string): Buffer {
	if (fs.existsSync(file)) return readKeyFile(file);
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const key = crypto.randomBytes(KEY_BYTES);
	try {
		// "wx": when two processes start on a fresh data dir, the first one's key wins and the other reads it.
		fs.writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
		return key;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "EEXIST") return readKeyFile(file);
		throw err;
	}
}

function readKeyFile(file: string): Buffer {
	const mode = fs.statSync(file).mode & 0o777;
	// Windows reports synthetic mode bits that say nothing about who can read the file.
	if (process.platform !== "win32" && (mode & 0o077) !== 0)
		throw new Error(
			`Secret key file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}): run \`chmod 600 ${file}\``
		);
	let text = fs.readFileSync(file, "utf8");
	// A racing process may have created the file but not written it yet: wait briefly for its content.
	for (let waited = 0; text.length === 0 && waited < 1000; waited += 20) {
		sleepSync(20);
		text = fs.readFileSync(file, "utf8");
	}
	const trimmed = text.trim();
	const key = Buffer.from(trimmed, "base64");
	if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== KEY_BYTES)
		throw new Error(
			`Secret key file ${file} is corrupt: expected ${KEY_BYTES} bytes in base64. Restore it from a backup; ` +
				"deleting it makes a new key, and profile data sealed with the old one cannot be read any more"
		);
	return key;
}

function sleepSync(ms: number): void {
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
