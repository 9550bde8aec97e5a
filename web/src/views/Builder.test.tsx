// The builder view rendered in jsdom against a fake REST API: the force form comes from the
// scheduler's fields and posts `force`; controls are hidden from anonymous users when
// authentication is configured, and after the server refused them.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { RestClient } from "../api/rest";
import { Store } from "../api/store";
import { LatestBuilds } from "../app/latestBuilds";
import { Notifier } from "../app/notifier";
import { ServicesProvider, type Services } from "../app/services";
import { Permissions, type KilnConfig } from "../lib/permissions";
import { fakeFetch, type FakeRoute } from "../test/fakes";
import { Builder } from "./Builder";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const scheduler = {
  name: "force",
  button_name: "Force",
  label: "Force a build",
  builder_names: ["runtests"],
  enabled: true,
  all_fields: [
    {
      name: "",
      fullName: null,
      label: "",
      type: "nested",
      default: "",
      fields: [
        {
          name: "reason",
          fullName: "reason",
          label: "Reason",
          type: "text",
          default: "force build",
        },
      ],
    },
    { name: "exitcode", fullName: "exitcode", label: "Exit code", type: "int", default: "0" },
  ],
};

function api(forceAnswer: FakeRoute) {
  return fakeFetch({
    "/api/v2/builders/1": {
      body: {
        builders: [
          { builderid: 1, name: "runtests", description: null, tags: ["ci"], masterids: [1] },
        ],
        meta: {},
      },
    },
    "/api/v2/builders/1/forceschedulers": {
      body: { forceschedulers: [scheduler], meta: { total: 1 } },
    },
    "/api/v2/builders/1/builds": { body: { builds: [], meta: { total: 0 } } },
    "/api/v2/builders/1/buildrequests": { body: { buildrequests: [], meta: { total: 0 } } },
    "/api/v2/workers": { body: { workers: [], meta: { total: 0 } } },
    "/api/v2/forceschedulers/force": forceAnswer,
  });
}

function config(auth: string, user: KilnConfig["user"]): KilnConfig {
  return { title: "t", buildbotURL: "http://x/", auth: { name: auth }, user, versions: [] };
}

let root: Root | null = null;
let container: HTMLDivElement | null = null;

async function render(
  cfg: KilnConfig,
  forceAnswer: FakeRoute = { body: { id: 1, jsonrpc: "2.0", result: [1, { "1": 1 }] } },
) {
  const { impl, calls } = api(forceAnswer);
  const rest = new RestClient(impl);
  const services: Services = {
    rest,
    live: null,
    store: new Store(rest, null),
    config: cfg,
    permissions: new Permissions(cfg),
    notifier: new Notifier(0),
    latest: new LatestBuilds(rest, null),
  };
  container = document.createElement("div");
  document.body.appendChild(container);
  root = createRoot(container);
  await act(async () => {
    root?.render(
      <ServicesProvider services={services}>
        <MemoryRouter initialEntries={["/builders/1"]}>
          <Routes>
            <Route path="/builders/:builderid" element={<Builder />} />
          </Routes>
        </MemoryRouter>
      </ServicesProvider>,
    );
  });
  await waitFor(() => container?.querySelector("h1")?.textContent?.includes("runtests"));
  await waitFor(() => container?.textContent?.includes("No builds yet."));
  return { calls, container: container as HTMLDivElement };
}

async function waitFor(predicate: () => unknown, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
  }
}

function setInput(input: HTMLInputElement, value: string) {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
  setter?.call(input, value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

afterEach(() => {
  act(() => root?.unmount());
  container?.remove();
  root = null;
  container = null;
});

describe("Builder view", () => {
  it("renders the force form from the scheduler's fields and posts force", async () => {
    const { calls, container } = await render(config("NoAuth", { anonymous: true }));
    const button = container.querySelector<HTMLButtonElement>("[data-testid=force-button]");
    expect(button?.textContent).toBe("Force");
    await act(async () => button?.click());
    const exitcode = container.querySelector<HTMLInputElement>("form.force-form [name=exitcode]");
    expect(container.querySelector<HTMLInputElement>("form.force-form [name=reason]")?.value).toBe(
      "force build",
    );
    await act(async () => setInput(exitcode as HTMLInputElement, "3"));
    await act(async () =>
      container.querySelector<HTMLButtonElement>("form.force-form button[type=submit]")?.click(),
    );
    await waitFor(() => calls.some((c) => c.init?.method === "POST"));
    const post = calls.find((c) => c.init?.method === "POST");
    expect(post?.url).toBe("/api/v2/forceschedulers/force");
    expect(JSON.parse(String(post?.init?.body))).toMatchObject({
      method: "force",
      params: { reason: "force build", exitcode: "3", builderid: 1 },
    });
    await waitFor(() => !container.querySelector("form.force-form"));
  });

  it("shows the server's field errors by the fields", async () => {
    const { container } = await render(config("NoAuth", { anonymous: true }), {
      status: 400,
      body: { jsonrpc: "2.0", id: 1, error: { code: -32602, message: { exitcode: "too big" } } },
    });
    await act(async () =>
      container.querySelector<HTMLButtonElement>("[data-testid=force-button]")?.click(),
    );
    await act(async () =>
      container.querySelector<HTMLButtonElement>("form.force-form button[type=submit]")?.click(),
    );
    await waitFor(() => container.querySelector(".field-error")?.textContent === "too big");
  });

  it("hides the force button from anonymous users when authentication is configured", async () => {
    const { container } = await render(config("UsersFileAuth", { anonymous: true }));
    expect(container.querySelector("[data-testid=force-button]")).toBeNull();
    expect(container.textContent).toContain("Log in to start builds.");
  });

  it("hides the force button after the server refused it", async () => {
    const { container } = await render(config("UsersFileAuth", { username: "bob" }), {
      status: 403,
      body: {
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32600, message: "you need to have role 'admins'" },
      },
    });
    await act(async () =>
      container.querySelector<HTMLButtonElement>("[data-testid=force-button]")?.click(),
    );
    await act(async () =>
      container.querySelector<HTMLButtonElement>("form.force-form button[type=submit]")?.click(),
    );
    await waitFor(() => !container.querySelector("[data-testid=force-button]"));
  });
});
