import { ERROR_TYPES } from "../../src/errors";
import { UrlPolicy } from "../../src/tasks/url-policy";

describe("UrlPolicy", () => {
	const strict = new UrlPolicy(false);
	const open = new UrlPolicy(true);
	const refusal = (policy: UrlPolicy, url: string) => {
		try {
			policy.check(url);
			return null;
		} catch (err: any) {
			expect(err.type).toBe(ERROR_TYPES.URL_NOT_ALLOWED);
			expect(err.code).toBe(422);
			return err.data.reason as string;
		}
	};

	it("allows public http and https URLs", () => {
		expect(refusal(strict, "https://example.org/a?b=c")).toBeNull();
		expect(refusal(strict, "http://93.184.216.34/")).toBeNull();
	});

	it("refuses other schemes and non-URLs", () => {
		expect(refusal(open, "file:///etc/passwd")).toMatch(/scheme/);
		expect(refusal(open, "javascript:alert(1)")).toMatch(/scheme/);
		expect(refusal(open, "not a url")).toMatch(/valid/);
	});

	it("refuses cloud metadata even when private networks are allowed", () => {
		for (const url of ["http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/", "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://[::ffff:169.254.169.254]/"])
			expect(refusal(open, url)).toMatch(/metadata/);
	});

	it("refuses loopback and private ranges unless allowed", () => {
		for (const url of ["http://127.0.0.1:3000/", "http://localhost/", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.20.0.1/", "http://[::1]/", "http://[fc00::1]/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/"]) {
			expect(refusal(strict, url)).toMatch(/private/);
			expect(refusal(open, url)).toBeNull();
		}
	});

	it("treats a fully qualified name like the name", async () => {
		await expect(strict.assertAllowed("http://localhost.:8080/")).rejects.toMatchObject({ type: ERROR_TYPES.URL_NOT_ALLOWED });
		await expect(open.assertAllowed("http://localhost.:8080/")).resolves.toBeUndefined();
	});

	it("refuses at connect time a name that resolves to a loopback address", async () => {
		const lookup = (policy: UrlPolicy) =>
			new Promise((resolve, reject) =>
				policy.lookup("localhost", {}, (err: any, address: any) => (err ? reject(err) : resolve(address)))
			);
		await expect(lookup(strict)).rejects.toMatchObject({ type: ERROR_TYPES.URL_NOT_ALLOWED });
		await expect(lookup(open)).resolves.toMatch(/^(127\.|::1)/);
	});
});
