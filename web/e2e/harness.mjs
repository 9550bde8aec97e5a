// A real Kiln master (temp dir, SQLite, users file with alice (admins) and bob (no role),
// web server on 127.0.0.1 serving web/dist) with a real kiln-worker, and headless Chromium
// driven by playwright-core. Every child runs in its own process group and is stopped by it.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "..", "..");
export const KILN = resolve(process.env.KILN ?? join(ROOT, "build", "dev", "app", "kiln"));
export const KILN_BENCH_FILL = resolve(
  process.env.KILN_BENCH_FILL ?? join(dirname(KILN), "..", "bench", "kiln-bench-fill"),
);
export const KILN_WORKER = resolve(
  process.env.KILN_WORKER ?? join(ROOT, "build", "dev", "app", "kiln-worker"),
);
export const WEB_ROOT = resolve(process.env.KILN_WEB_ROOT ?? join(ROOT, "web", "dist"));
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const PASSWORDS = { alice: "alice-secret-1", bob: "bob-secret-1" };

export const CONFIG = String.raw`
local k = require "kiln"
return {
  title = "Kiln e2e",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = {
    port = @WWW@,
    auth = k.auth.users_file("users.txt"),
    authz = {
      roles = { k.roles.from_groups{ prefix = "kiln-" } },
      rules = { k.allow.any_control{ role = "admins" } },
    },
    change_hook = { base = true },
  },
  workers = { k.worker{ name = "worker1", password = "worker-pw", max_builds = 3 } },
  builders = {
    k.builder{ name = "runtests", workers = { "worker1" }, tags = { "ci", "linux" },
      description = "Prints numbered lines slowly, then exits as asked",
      steps = {
        k.shell{ name = "setup",
                 command = "printf '\\033[1;32mgreen bold\\033[0m and \\033[31mred\\033[0m\\n'; echo 'a warning' 1>&2" },
        k.shell{ name = "test",
                 command = k.interpolate("for i in $(seq 1 %(prop:lines)s); do echo \"line $i\"; sleep %(prop:delay)s; done; exit %(prop:exitcode)s") },
      } },
    k.builder{ name = "docs", workers = { "worker1" }, tags = { "docs" },
      steps = { k.shell{ name = "build", command = "echo building the docs" } } },
    k.builder{ name = "release", workers = { "worker1" }, tags = { "release", "linux" },
      description = "Packages a release",
      steps = { k.shell{ name = "package", command = "echo packaging; exit 1" } } },
  },
  schedulers = {
    k.single_branch{ name = "main", builders = { "docs", "release" }, branch = "main" },
    k.force{ name = "force", builders = { "runtests", "docs", "release" }, parameters = {
      k.string_parameter{ name = "lines", label = "Lines", default = "5" },
      k.string_parameter{ name = "delay", label = "Seconds between lines", default = "0" },
      k.string_parameter{ name = "exitcode", label = "Exit code", default = "0" },
    } },
  },
}
`;

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, predicate, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${last.message})` : ""}`);
}

export function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout: 120_000,
    ...options,
  });
  if (result.status !== 0) {
    throw new Error(
      `${argv.join(" ")} failed (${result.status}): ${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

class Child {
  constructor(label, argv, logFile, env) {
    this.label = label;
    this.logFile = logFile;
    const out = openSync(logFile, "a");
    this.process = spawn(argv[0], argv.slice(1), {
      env,
      stdio: ["ignore", out, out],
      detached: true,
    });
    this.exited = new Promise((r) =>
      this.process.on("exit", (code, signal) => r({ code, signal })),
    );
  }

  get alive() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  async stop(timeoutMs = 20_000) {
    if (!this.alive) return;
    try {
      process.kill(-this.process.pid, "SIGTERM");
    } catch {
      return;
    }
    const done = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (done === null) {
      try {
        process.kill(-this.process.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await this.exited;
    }
  }

  tail(chars = 3000) {
    try {
      return readFileSync(this.logFile, "utf8").slice(-chars);
    } catch {
      return "";
    }
  }
}

export class KilnSetup {
  /** `config`: master.lua with @PORT@ (workers) and @WWW@ (web server) placeholders. */
  constructor(config = CONFIG) {
    this.config = config;
    this.root = mkdtempSync(join(tmpdir(), "kiln-e2e-"));
    this.masterDir = join(this.root, "master");
    this.workerDir = join(this.root, "worker1");
    this.master = null;
    this.worker = null;
    this.starts = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.wwwPort}`;
  }

  env() {
    return {
      ...process.env,
      KILN_WWW_BIND: "127.0.0.1",
      KILN_WORKER_BIND: "127.0.0.1",
      KILN_WEB_ROOT: WEB_ROOT,
    };
  }

  async create() {
    run([KILN, "create-master", this.masterDir], { env: this.env() });
    this.workerPort = await freePort();
    this.wwwPort = await freePort();
    writeFileSync(
      join(this.masterDir, "master.lua"),
      this.config
        .replaceAll("@PORT@", String(this.workerPort))
        .replaceAll("@WWW@", String(this.wwwPort)),
    );
    run(
      [
        KILN,
        "user",
        "add",
        this.masterDir,
        "alice",
        "--email",
        "alice@example.org",
        "--group",
        "kiln-admins",
      ],
      {
        input: `${PASSWORDS.alice}\n`,
        env: this.env(),
      },
    );
    run([KILN, "user", "add", this.masterDir, "bob", "--email", "bob@example.org"], {
      input: `${PASSWORDS.bob}\n`,
      env: this.env(),
    });
    run([KILN, "checkconfig", this.masterDir], { env: this.env() });
  }

  async startMaster() {
    this.starts += 1;
    this.master = new Child(
      "kiln",
      [KILN, "start", this.masterDir, "--foreground"],
      join(this.root, `kiln-${this.starts}.log`),
      this.env(),
    );
    await waitFor(
      "the master's web server",
      async () => {
        if (!this.master.alive) throw new Error(`the master exited:\n${this.master.tail()}`);
        const response = await fetch(`${this.url}/config`);
        return response.ok;
      },
      30_000,
    );
  }

  async stopMaster() {
    await this.master?.stop();
  }

  async startWorker() {
    run([
      KILN_WORKER,
      "create",
      this.workerDir,
      "--master",
      `127.0.0.1:${this.workerPort}`,
      "--name",
      "worker1",
      "--password",
      "worker-pw",
      "--max-retry-delay",
      "2",
      "--force",
    ]);
    this.worker = new Child(
      "kiln-worker",
      [KILN_WORKER, "run", this.workerDir],
      join(this.root, "worker.log"),
      this.env(),
    );
    await this.waitWorkerConnected();
  }

  async waitWorkerConnected() {
    await waitFor("the worker to connect", async () => {
      const body = await this.api("workers/worker1");
      return body.workers[0].connected_to.length > 0;
    });
  }

  async api(path) {
    const response = await fetch(`${this.url}/api/v2/${path}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  /** Posts a change to /change_hook/base (form fields); returns the answer's text. */
  async postChange(fields) {
    const response = await fetch(`${this.url}/change_hook/base`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`change_hook/base: ${response.status} ${text}`);
    return text;
  }

  /** A control call as alice (HTTP Basic), for setting up situations the tests then look at. */
  async control(path, method, params) {
    const response = await fetch(`${this.url}/api/v2/${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString("base64")}`,
      },
      body: JSON.stringify({ jsonrpc: "2.0", method, id: 1, params }),
    });
    const body = await response.json();
    if (!response.ok || body.error) throw new Error(`${method} ${path}: ${JSON.stringify(body)}`);
    return body.result;
  }

  async stop({ keep = false } = {}) {
    await this.worker?.stop(10_000);
    await this.master?.stop();
    if (keep) console.log(`kept ${this.root}`);
    else rmSync(this.root, { recursive: true, force: true });
  }

  logs() {
    return `--- master ---\n${this.master?.tail() ?? ""}\n--- worker ---\n${this.worker?.tail() ?? ""}`;
  }
}

export async function launchBrowser(root) {
  const { chromium } = await import("playwright-core");
  const profile = join(root, "chromium-profile");
  mkdirSync(profile, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
