import { describe, expect, it } from "vitest";
import { apiUrl, ControlError, parseEnvelope, RestClient } from "./rest";
import { fakeFetch } from "../test/fakes";

describe("apiUrl", () => {
  it("repeats list parameters in order and skips undefined values", () => {
    expect(
      apiUrl("builds", {
        order: "-buildid",
        field: ["buildid", "results"],
        limit: 5,
        x: undefined,
      }),
    ).toBe("/api/v2/builds?order=-buildid&field=buildid&field=results&limit=5");
  });
  it("encodes values and drops leading slashes", () => {
    expect(apiUrl("/builders", { name__contains: "a b&c" })).toBe(
      "/api/v2/builders?name__contains=a+b%26c",
    );
    expect(apiUrl("builders")).toBe("/api/v2/builders");
  });
});

describe("parseEnvelope", () => {
  it("reads the plural key and meta", () => {
    expect(parseEnvelope({ builds: [{ buildid: 1 }], meta: { total: 1 } })).toEqual({
      items: [{ buildid: 1 }],
      meta: { total: 1 },
    });
  });
  it("rejects answers that are not an envelope", () => {
    expect(() => parseEnvelope([])).toThrow();
    expect(() => parseEnvelope({ a: [], b: [], meta: {} })).toThrow();
  });
});

describe("RestClient", () => {
  it("asks for compact JSON and returns the items", async () => {
    const { impl, calls } = fakeFetch({
      "/api/v2/builders": { body: { builders: [{ builderid: 1 }], meta: { total: 1 } } },
    });
    const page = await new RestClient(impl).get("builders");
    expect(page.items).toEqual([{ builderid: 1 }]);
    expect((calls[0]?.init?.headers as Record<string, string>).Accept).toBe("application/json");
  });

  it("turns an error answer into an ApiError with the server's message", async () => {
    const { impl } = fakeFetch({
      "/api/v2/nosuch": { status: 404, body: { error: "Invalid path: nosuch" } },
    });
    await expect(new RestClient(impl).get("nosuch")).rejects.toMatchObject({
      status: 404,
      message: "Invalid path: nosuch",
    });
  });

  it("sends JSON-RPC 2.0 control calls and returns the result", async () => {
    const { impl, calls } = fakeFetch({
      "/api/v2/builds/3": { body: { id: 1, jsonrpc: "2.0", result: null } },
    });
    await expect(
      new RestClient(impl).control("builds/3", "stop", { reason: "r" }),
    ).resolves.toBeNull();
    const body = JSON.parse(String(calls[0]?.init?.body)) as Record<string, unknown>;
    expect(body).toMatchObject({ jsonrpc: "2.0", method: "stop", params: { reason: "r" } });
    expect(calls[0]?.init?.method).toBe("POST");
  });

  it("reports 403 from the rules as forbidden, but not the CSRF refusal", async () => {
    const denied = fakeFetch({
      "/api/v2/builds/3": {
        status: 403,
        body: {
          jsonrpc: "2.0",
          id: 1,
          error: { code: -32600, message: "you need to have role 'admins'" },
        },
      },
    });
    const error = await new RestClient(denied.impl)
      .control("builds/3", "stop")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlError);
    expect((error as ControlError).isForbidden).toBe(true);
    const csrf = fakeFetch({
      "/api/v2/builds/3": {
        status: 403,
        body: { jsonrpc: "2.0", error: { code: -32600, message: "cross-site request refused: x" } },
      },
    });
    const refused = (await new RestClient(csrf.impl)
      .control("builds/3", "stop")
      .catch((e: unknown) => e)) as ControlError;
    expect(refused.isForbidden).toBe(false);
  });

  it("keeps the force form's field errors", async () => {
    const { impl } = fakeFetch({
      "/api/v2/forceschedulers/force": {
        status: 400,
        body: { jsonrpc: "2.0", id: 1, error: { code: -32602, message: { reason: "required" } } },
      },
    });
    const error = (await new RestClient(impl)
      .control("forceschedulers/force", "force")
      .catch((e: unknown) => e)) as ControlError;
    expect(error.fieldErrors).toEqual({ reason: "required" });
  });
});
