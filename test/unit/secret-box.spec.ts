import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadSecretKey, type Sealed, SecretBox, SecretMismatchError } from "../../src/profile/secret-box";

/** Flips one bit of a base64 field, keeping it valid base64 of the same length. */
function flip(b64: string, byte = 0): string {
	const buf = Buffer.from(b64, "base64");
	buf[byte] ^= 0x01;
	return buf.toString("base64");
}

function mismatch(fn: () => unknown): SecretMismatchError {
	try {
		fn();
	} catch (err) {
		expect(err).toBeInstanceOf(SecretMismatchError);
		return err as SecretMismatchError;
	}
	throw new Error("expected SecretMismatchError");
}

describe("SecretBox", () => {
	const box = new SecretBox(crypto.randomBytes(32));
	const state = {
		cookies: [{ name: "sid", value: "s%3Aabc", domain: ".example.com", path: "/", expires: -1, httpOnly: true, secure: true, sameSite: "Lax" }],
		origins: [{ origin: "https://example.com", localStorage: [{ name: "token", value: "ünïcödé ✓" }] }]
	};

	it("opens what it sealed", () => {
		const sealed = box.seal(state);
		expect(sealed.alg).toBe("aes-256-gcm");
		expect(sealed.v).toBe(1);
		expect(Buffer.from(sealed.iv, "base64")).toHaveLength(12);
		expect(Buffer.from(sealed.tag, "base64")).toHaveLength(16);
		expect(box.open(sealed)).toEqual(state);
		expect(box.open<string>(box.seal("plain"))).toBe("plain");
		expect(box.open(box.seal(null))).toBeNull();
		expect(box.open(box.seal({ username: "u", password: "p" }))).toEqual({ username: "u", password: "p" });
	});

	it("keeps the value out of the sealed form", () => {
		const sealed = box.seal({ password: "hunter2-very-secret" });
		expect(JSON.stringify(sealed)).not.toContain("hunter2");
		expect(Buffer.from(sealed.data, "base64").toString("utf8")).not.toContain("hunter2");
	});

	it("seals the same value differently each time", () => {
		const a = box.seal(state);
		const b = box.seal(state);
		expect(a.iv).not.toBe(b.iv);
		expect(a.data).not.toBe(b.data);
		expect(box.open(a)).toEqual(box.open(b));
	});

	it("survives a JSON round trip of the sealed form (as stored)", () => {
		const stored = JSON.parse(JSON.stringify(box.seal(state))) as Sealed;
		expect(box.open(stored)).toEqual(state);
	});

	it("refuses tampered data, tag or iv", () => {
		const sealed = box.seal(state);
		const err = mismatch(() => box.open({ ...sealed, data: flip(sealed.data, 5) }));
		expect(err.code).toBe(500);
		expect(err.type).toBe("SECRET_MISMATCH");
		expect(err.message).toBe("Encrypted profile data cannot be opened with this node's key: every node must share NIGHTSHIFT_SECRET");
		mismatch(() => box.open({ ...sealed, tag: flip(sealed.tag, 15) }));
		mismatch(() => box.open({ ...sealed, iv: flip(sealed.iv) }));
		// A truncated tag must not be accepted as a shorter (weaker) one.
		mismatch(() => box.open({ ...sealed, tag: Buffer.from(sealed.tag, "base64").subarray(0, 12).toString("base64") }));
		mismatch(() => box.open({ ...sealed, data: Buffer.from(sealed.data, "base64").subarray(1).toString("base64") }));
	});

	it("refuses a value sealed with another key", () => {
		const other = new SecretBox(crypto.randomBytes(32));
		mismatch(() => other.open(box.seal(state)));
	});

	it("recognizes sealed values", () => {
		expect(SecretBox.isSealed(box.seal(1))).toBe(true);
		expect(SecretBox.isSealed(null)).toBe(false);
		expect(SecretBox.isSealed("x")).toBe(false);
		expect(SecretBox.isSealed({ cookies: [] })).toBe(false);
		expect(SecretBox.isSealed({ ...box.seal(1), v: 2 })).toBe(false);
		expect(SecretBox.isSealed({ ...box.seal(1), alg: "aes-128-gcm" })).toBe(false);
		expect(() => box.open({ cookies: [] } as unknown as Sealed)).toThrow(TypeError);
	});

	it("wants a 32-byte key and a JSON value", () => {
		expect(() => new SecretBox(crypto.randomBytes(16))).toThrow(/32-byte key/);
		expect(() => box.seal(undefined)).toThrow(TypeError);
	});
});

describe("loadSecretKey", () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-secret-"));
	});
	afterEach(() => {
		jest.restoreAllMocks();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("derives the same key from the same secret, on any data dir", () => {
		const secret = "correct horse battery staple";
		const a = loadSecretKey({ secret, dataDir: dir });
		const b = loadSecretKey({ secret, dataDir: ":memory:" });
		expect(a).toHaveLength(32);
		expect(a.equals(b)).toBe(true);
		expect(a.equals(loadSecretKey({ secret: secret + "!", dataDir: dir }))).toBe(false);
		// The secret wins over the key file: none is created.
		expect(fs.existsSync(path.join(dir, "secret.key"))).toBe(false);
		// Nodes of a cluster open each other's data.
		expect(new SecretBox(b).open(new SecretBox(a).seal({ x: 1 }))).toEqual({ x: 1 });
	});

	it("refuses a secret shorter than 16 characters", () => {
		expect(() => loadSecretKey({ secret: "short-secret", dataDir: dir })).toThrow(/NIGHTSHIFT_SECRET is too short \(12 characters\): use at least 16/);
		expect(loadSecretKey({ secret: "x".repeat(16), dataDir: dir })).toHaveLength(32);
	});

	it("treats an empty secret as none", () => {
		const key = loadSecretKey({ secret: "", dataDir: dir });
		expect(fs.readFileSync(path.join(dir, "secret.key"), "utf8").trim()).toBe(key.toString("base64"));
	});

	it("keeps one random key per process for :memory:", () => {
		const a = loadSecretKey({ dataDir: ":memory:" });
		expect(a).toHaveLength(32);
		expect(loadSecretKey({ dataDir: ":memory:" }).equals(a)).toBe(true);
	});

	it("creates the key file once, mode 0600, in a missing directory", () => {
		const dataDir = path.join(dir, "nested", "data");
		const key = loadSecretKey({ dataDir });
		const file = path.join(dataDir, "secret.key");
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(Buffer.from(fs.readFileSync(file, "utf8"), "base64").equals(key)).toBe(true);
		const again = loadSecretKey({ dataDir });
		expect(again.equals(key)).toBe(true);
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
	});

	it("reads the key another process wrote first", () => {
		const existing = crypto.randomBytes(32);
		fs.writeFileSync(path.join(dir, "secret.key"), existing.toString("base64"), { mode: 0o600 });
		// The other process creates the file between our check and our exclusive create.
		jest.spyOn(fs, "existsSync").mockReturnValueOnce(false);
		expect(loadSecretKey({ dataDir: dir }).equals(existing)).toBe(true);
	});

	it("refuses a key file readable by group or others", () => {
		const file = path.join(dir, "secret.key");
		loadSecretKey({ dataDir: dir });
		fs.chmodSync(file, 0o644);
		expect(() => loadSecretKey({ dataDir: dir })).toThrow(`Secret key file ${file} is accessible by group or others (mode 0644): run \`chmod 600 ${file}\``);
		fs.chmodSync(file, 0o640);
		expect(() => loadSecretKey({ dataDir: dir })).toThrow(/mode 0640/);
		fs.chmodSync(file, 0o600);
		expect(loadSecretKey({ dataDir: dir })).toHaveLength(32);
	});

	it("refuses a corrupt key file, naming it", () => {
		const file = path.join(dir, "secret.key");
		fs.writeFileSync(file, crypto.randomBytes(16).toString("base64"), { mode: 0o600 });
		expect(() => loadSecretKey({ dataDir: dir })).toThrow(`Secret key file ${file} is corrupt`);
		fs.writeFileSync(file, "not base64 at all!", { mode: 0o600 });
		expect(() => loadSecretKey({ dataDir: dir })).toThrow(/is corrupt/);
	});
});
