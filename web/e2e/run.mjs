// End-to-end tests of the web UI against a real Kiln master and a real kiln-worker, in
// headless Chromium. Prints one line per test and a closing `N passed, N failed` line;
// saves a screenshot of every view in docs/screenshots/.
//
// Usage: node e2e/run.mjs [--keep] [--only NAME]   (after `npm run build`; needs build/dev/app)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  KILN_BENCH_FILL,
  KilnSetup,
  launchBrowser,
  PASSWORDS,
  ROOT,
  run,
  sleep,
  waitFor,
} from "./harness.mjs";

const SHOTS = join(ROOT, "docs", "screenshots");
const keep = process.argv.includes("--keep");
const only = process.argv.includes("--only")
  ? process.argv[process.argv.indexOf("--only") + 1]
  : null;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name, options = {}) {
  await sleep(300); // let the last live update render
  await page.screenshot({
    path: join(SHOTS, `${name}.png`),
    fullPage: options.fullPage ?? false,
  });
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function login(page, kiln, user, redirect = "/") {
  await page.goto(`${kiln.url}/login?redirect=${encodeURIComponent(redirect)}`);
  await page.fill("#login-user", user);
  await page.fill("#login-password", PASSWORDS[user]);
  await page.click("form.login-form button[type=submit]");
  await page.waitForSelector(`[data-testid=user-name]:has-text("${user}")`, { timeout: 15_000 });
}

async function logout(page) {
  await page.click("[data-testid=logout-link]");
  await page.waitForSelector("[data-testid=login-link]", { timeout: 15_000 });
}

/** Forces a build of `builder` through the form; returns the new build's number. */
async function forceFromForm(page, kiln, builderid, values, screenshot) {
  const before =
    (await kiln.api(`builders/${builderid}/builds?order=-number&limit=1`)).builds[0]?.number ?? 0;
  await page.goto(`${kiln.url}/builders/${builderid}`);
  await page.click("[data-testid=force-button]");
  await page.waitForSelector("form.force-form");
  for (const [name, value] of Object.entries(values))
    await page.fill(`form.force-form [name=${name}]`, value);
  if (screenshot) await shot(page, screenshot);
  await page.click("form.force-form button[type=submit]");
  await page.waitForSelector("form.force-form", { state: "detached" });
  const number = before + 1;
  await page.waitForSelector(`table.builds a[href="/builders/${builderid}/builds/${number}"]`, {
    timeout: 30_000,
  });
  return number;
}

test("anonymous users see the builders but no force button", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/builders`);
  await page.waitForSelector(".builder-row a:has-text('runtests')");
  check((await page.locator(".vrow").count()) === 3, "three builders listed");
  await page.goto(`${kiln.url}/builders/1`);
  await page.waitForSelector("h1:has-text('runtests')");
  await page.waitForSelector("text=Log in");
  check(
    (await page.locator("[data-testid=force-button]").count()) === 0,
    "the force button is absent for anonymous users",
  );
  await shot(page, "builder-anonymous");
});

test("builders filter by name and by tag", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/builders`);
  await page.waitForSelector(".builder-row");
  await page.fill("input[type=search]", "rel");
  await waitFor("the name filter", async () => (await page.locator(".vrow").count()) === 1);
  check((await page.locator(".vrow").textContent()).includes("release"), "release is the match");
  await page.fill("input[type=search]", "");
  await page.click(".tag-filter button:has-text('linux')");
  await waitFor("the tag filter", async () => (await page.locator(".vrow").count()) === 2);
  check(page.url().includes("tag=linux"), "the filter is in the URL");
});

test("log in with the form; a wrong password is refused", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/login?redirect=${encodeURIComponent("/builders/1")}`);
  await page.fill("#login-user", "alice");
  await page.fill("#login-password", "wrong-password");
  await page.click("form.login-form button[type=submit]");
  await page.waitForSelector(
    "form.login-form [role=alert]:has-text('Wrong user name or password')",
  );
  await login(page, kiln, "alice", "/builders/1");
  check(new URL(page.url()).pathname === "/builders/1", `back on the builder page (${page.url()})`);
  await page.waitForSelector("[data-testid=force-button]");
});

test("force a build from the form and watch its log lines appear live", async ({ page, kiln }) => {
  const number = await forceFromForm(
    page,
    kiln,
    1,
    { lines: "25", delay: "0.3", reason: "e2e: live log" },
    "force-form",
  );
  await page.click(`table.builds a[href="/builders/1/builds/${number}"]`);
  await page.waitForSelector("h1:has-text('#" + number + "')");
  // The running step opens by itself and its log follows the end.
  const log = page.locator("li[data-step=test] [data-testid=log-lines]");
  await log.waitFor({ timeout: 30_000 });
  await page.waitForSelector("li[data-step=test] .log-line:has-text('line 3')", {
    timeout: 30_000,
  });
  const build = (await kiln.api(`builders/1/builds/${number}`)).builds[0];
  check(!build.complete, "the build is still running while the first lines are shown");
  await shot(page, "build-running");
  await page.waitForSelector("li[data-step=test] .log-line:has-text('line 12')", {
    timeout: 30_000,
  });
  await page.waitForSelector(".summary [data-result=success]", { timeout: 60_000 });
  await page.waitForSelector("li[data-step=test] .log-line:has-text('line 25')");
  await page.click("li[data-step=setup] button.disclosure");
  await page.waitForSelector("li[data-step=setup] .ansi-fg-2.ansi-bold:has-text('green bold')");
  await page.waitForSelector("li[data-step=setup] .log-line.stderr:has-text('a warning')");
  await shot(page, "build", { fullPage: true });
});

test("a log page links lines, searches and offers the raw log", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/builders/1/builds/1/steps/test/logs/stdio#L7`);
  await page.waitForSelector(".log-line.highlighted[data-line='7']", { timeout: 20_000 });
  await page.fill(".log-search input", "line 2");
  await page.waitForSelector(".log-line.current");
  const raw = await page.locator("a:has-text('Download raw')").getAttribute("href");
  const text = await (await fetch(`${kiln.url}${raw}`)).text();
  check(text.includes("line 25"), "the raw download holds the log");
  await page.fill(".log-search input", "");
  await page.goto(`${kiln.url}/builders/1/builds/1/steps/test/logs/stdio#L7`);
  await page.waitForSelector(".log-line.highlighted[data-line='7']");
  await shot(page, "log");
});

test("stop a long build", async ({ page, kiln }) => {
  const number = await forceFromForm(page, kiln, 1, {
    lines: "1000",
    delay: "0.5",
    reason: "e2e: to be stopped",
  });
  await page.goto(`${kiln.url}/builders/1/builds/${number}`);
  await page.waitForSelector("li[data-step=test] .log-line:has-text('line 2')", {
    timeout: 30_000,
  });
  await page.click("[data-testid=stop-button]");
  await page.waitForSelector(".summary [data-result=cancelled]", { timeout: 30_000 });
  check(
    (await page.locator("[data-testid=stop-button]").count()) === 0,
    "no stop button on a finished build",
  );
  await page.waitForSelector("[data-testid=rebuild-button]");
});

test("pause and unpause a worker", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/workers`);
  await page.waitForSelector("tr[data-worker=worker1] .badge:has-text('connected')");
  await page.click("tr[data-worker=worker1] button:has-text('Pause')");
  await page.waitForSelector("tr[data-worker=worker1] [data-testid=paused]");
  check(
    (await kiln.api("workers/worker1")).workers[0].paused === true,
    "the master has the worker paused",
  );
  await page.click("tr[data-worker=worker1] button:has-text('Unpause')");
  await page.waitForSelector("tr[data-worker=worker1] [data-testid=paused]", {
    state: "detached",
  });
});

test("home shows running builds, waiting requests and recent results live", async ({
  page,
  kiln,
}) => {
  await page.goto(`${kiln.url}/`);
  await page.waitForSelector("h2:has-text('Recent results')");
  // The worker is paused, so the forced build waits in the queue; unpaused, it runs.
  await kiln.control("workers/worker1", "pause", { reason: "e2e" });
  const [, requests] = await kiln.control("forceschedulers/force", "force", {
    builderid: 1,
    lines: "200",
    delay: "0.5",
    reason: "e2e: home",
  });
  const waiting = `tr[data-request="${requests["1"]}"]`;
  await page.waitForSelector(waiting, { timeout: 20_000 });
  await shot(page, "home-waiting");
  await kiln.control("workers/worker1", "unpause", { reason: "e2e" });
  await page.waitForSelector(waiting, { state: "detached", timeout: 30_000 });
  await page.waitForSelector("table.builds >> text=running", { timeout: 30_000 });
  await kiln.control("forceschedulers/force", "force", { builderid: 2, reason: "e2e: docs" });
  await page.waitForSelector("table.builds a[href='/builders/2']", { timeout: 30_000 });
  await shot(page, "home");
  await page.goto(`${kiln.url}/workers`);
  await page.waitForSelector("tr[data-worker=worker1] .inline-build");
  await shot(page, "workers");
  await page.goto(`${kiln.url}/builders`);
  await page.waitForSelector(".recent .dot");
  await shot(page, "builders");
  await page.goto(`${kiln.url}/builders/1`);
  await page.waitForSelector("table.builds");
  await shot(page, "builder");
});

test("cancel a waiting request from the builder page", async ({ page, kiln }) => {
  await kiln.control("workers/worker1", "pause", { reason: "e2e" });
  try {
    const [, requests] = await kiln.control("forceschedulers/force", "force", {
      builderid: 3,
      reason: "e2e: to be cancelled",
    });
    const brid = requests["3"];
    await page.goto(`${kiln.url}/builders/3`);
    await page.click(`tr[data-request="${brid}"] button:has-text('Cancel')`);
    await page.waitForSelector(`tr[data-request="${brid}"]`, { state: "detached" });
    const request = (await kiln.api(`buildrequests/${brid}`)).buildrequests[0];
    check(
      request.complete && request.results === 6,
      `cancelled request: ${JSON.stringify(request)}`,
    );
  } finally {
    await kiln.control("workers/worker1", "unpause", { reason: "e2e" });
  }
});

test("rebuild a finished build", async ({ page, kiln }) => {
  const before = (await kiln.api("builders/2/builds?order=-number&limit=1")).builds[0].number;
  await page.goto(`${kiln.url}/builders/2/builds/1`);
  await page.click("[data-testid=rebuild-button]");
  await page.waitForURL(`${kiln.url}/builders/2`);
  await page.waitForSelector(`table.builds a[href="/builders/2/builds/${before + 1}"]`, {
    timeout: 30_000,
  });
});

test("after a lost connection the page resynchronises and says so", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/builders/2`);
  await page.waitForSelector("table.builds");
  await kiln.stopMaster();
  await page.waitForSelector("[data-testid=connection-lost]", { timeout: 20_000 });
  await shot(page, "connection-lost");
  await kiln.startMaster();
  await page.waitForSelector("[data-testid=reconnected]", { timeout: 60_000 });
  await kiln.waitWorkerConnected();
  // A build forced while the page was away shows up without a reload.
  const before = (await kiln.api("builders/2/builds?order=-number&limit=1")).builds[0]?.number ?? 0;
  await kiln.control("forceschedulers/force", "force", {
    builderid: 2,
    reason: "e2e: after reconnect",
  });
  await page.waitForSelector(`table.builds a[href="/builders/2/builds/${before + 1}"]`, {
    timeout: 30_000,
  });
});

test("a user without the role loses the force button after the server refuses it", async ({
  page,
  kiln,
}) => {
  await logout(page);
  await login(page, kiln, "bob", "/builders/3");
  await page.click("[data-testid=force-button]");
  await page.click("form.force-form button[type=submit]");
  await page.waitForSelector(".notice.error:has-text('Not allowed')", { timeout: 15_000 });
  await page.waitForSelector("[data-testid=force-button]", { state: "detached" });
  await logout(page);
});

test("about shows the versions; dark theme and phone widths", async ({ page, kiln }) => {
  await page.goto(`${kiln.url}/about`);
  await page.waitForSelector("th:has-text('Kiln')");
  await shot(page, "about");
  await page.goto(`${kiln.url}/login`);
  await page.waitForSelector("#login-user");
  await shot(page, "login");
  await page.selectOption("header select", "dark");
  await page.goto(`${kiln.url}/builders/1/builds/1`);
  await page.waitForSelector(".summary [data-result=success]");
  await page.click("li[data-step=setup] button.disclosure");
  await page.waitForSelector("li[data-step=setup] .log-line");
  await shot(page, "build-dark");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${kiln.url}/builders`);
  await page.waitForSelector(".builder-row");
  await shot(page, "builders-phone");
  await page.goto(`${kiln.url}/builders/1/builds/1`);
  await page.waitForSelector(".summary [data-result=success]");
  await shot(page, "build-phone");
  await page.selectOption("header select", "system");
  await page.setViewportSize({ width: 1280, height: 860 });
});

test("log out hides the controls again", async ({ page, kiln }) => {
  await login(page, kiln, "alice", "/builders/1");
  await page.waitForSelector("[data-testid=force-button]");
  await logout(page);
  await page.goto(`${kiln.url}/builders/1`);
  await page.waitForSelector("h1:has-text('runtests')");
  await page.waitForSelector("table.builds");
  check(
    (await page.locator("[data-testid=force-button]").count()) === 0,
    "no force button after logging out",
  );
  await page.goto(`${kiln.url}/builders/1/builds/1`);
  await page.waitForSelector(".summary [data-result=success]");
  check(
    (await page.locator("[data-testid=rebuild-button]").count()) === 0,
    "no rebuild button after logging out",
  );
});

test("the waterfall shows a forced build live and moves with the arrow keys", async ({
  page,
  kiln,
}) => {
  await page.goto(`${kiln.url}/waterfall`);
  await page.waitForSelector("[data-testid=waterfall] .wf-build");
  const before = (await kiln.api("builders/2/builds?order=-number&limit=1")).builds[0].number;
  await kiln.control("forceschedulers/force", "force", { builderid: 2, reason: "e2e: waterfall" });
  const box = `.wf-build[href="/builders/2/builds/${before + 1}"]`;
  await page.waitForSelector(box, { timeout: 30_000 });
  await page.waitForSelector(`${box}[data-result=success]`, { timeout: 30_000 });
  // The newest box is at the top; Down moves to an older build of the same builder.
  await page.focus(box);
  await page.keyboard.press("ArrowDown");
  const focused = await page.locator(":focus").getAttribute("href");
  check(
    focused === `/builders/2/builds/${before}`,
    `ArrowDown moves to the builder's previous build (focused ${focused})`,
  );
  await page.keyboard.press("Enter");
  await page.waitForURL(`${kiln.url}/builders/2/builds/${before}`);
  await page.goto(`${kiln.url}/waterfall`);
  await page.waitForSelector(box);
  await shot(page, "waterfall");
  // The filter keeps the builders that match.
  await page.fill("input[type=search]", "docs");
  await waitFor("the waterfall filter", async () => {
    const names = await page.locator(".wf-name").allTextContents();
    return names.length === 1 && names[0] === "docs";
  });
});

test("a change posted to /change_hook/base shows in the console, grid and changes", async ({
  page,
  kiln,
}) => {
  await page.goto(`${kiln.url}/console`);
  await page.waitForSelector("h1:has-text('Console')");
  const revision = "c0ffee" + String(Date.now()).slice(-8) + "aa";
  await kiln.postChange({
    author: "Carol <carol@example.org>",
    revision,
    branch: "main",
    repository: "https://git.example.org/app.git",
    comments: "Fix the frobnicator\n\nLonger description.",
    files: JSON.stringify(["src/frob.c", "docs/frob.md"]),
  });
  const change = (await kiln.api("changes?limit=1")).changes[0];
  check(change.revision === revision, "the change is stored");
  const row = `[data-testid=console] tr[data-change="${change.changeid}"]`;
  await page.waitForSelector(`${row}:has-text('Fix the frobnicator')`, { timeout: 20_000 });
  // The single-branch scheduler builds docs and release; their results fill the row live.
  await page.waitForSelector(`${row} td[data-builderid="2"] .dot.result-success`, {
    timeout: 60_000,
  });
  await page.waitForSelector(`${row} td[data-builderid="3"] .dot.result-failure`, {
    timeout: 60_000,
  });
  check(
    (await page.locator(`${row} td[data-builderid="1"] .dot`).count()) === 0,
    "runtests did not build the change",
  );
  await shot(page, "console");
  // Arrow keys move between the row's cells.
  await page.focus(`${row} th a`);
  await page.keyboard.press("ArrowRight");
  const focused = (await page.locator(":focus").getAttribute("href")) ?? "";
  check(/^\/builders\/\d+\/builds\/\d+$/.test(focused), `ArrowRight goes to a build (${focused})`);

  await page.goto(`${kiln.url}/grid`);
  await page.waitForSelector(`[data-testid=grid] th:has-text('${revision.slice(0, 10)}')`);
  await page.waitForSelector("[data-testid=grid] tr[data-builderid='3'] .dot.result-failure");
  await shot(page, "grid");

  await page.goto(`${kiln.url}/changes`);
  await page.click(`tr[data-change="${change.changeid}"] a`);
  await page.waitForSelector("[data-testid=change-author]:has-text('Carol')");
  await page.waitForSelector("pre.comments:has-text('Longer description.')");
  await waitFor(
    "the change's two builds",
    async () => (await page.locator("table.builds tbody tr").count()) === 2,
  );
  await shot(page, "change");
  await page.goto(`${kiln.url}/changes`);
  await page.waitForSelector(`tr[data-change="${change.changeid}"]`);
  await shot(page, "changes");

  // The build page names the change and who is responsible.
  const build = (await kiln.api(`changes/${change.changeid}/builds`)).builds.find(
    (b) => b.builderid === 2,
  );
  await page.goto(`${kiln.url}/builders/2/builds/${build.number}`);
  await page.waitForSelector("[data-testid=responsible]:has-text('Carol')");
  await page.waitForSelector(`table.changes tr[data-change="${change.changeid}"]`);
  await shot(page, "build-changes", { fullPage: true });

  // Phone widths and the dark theme.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${kiln.url}/console`);
  await page.waitForSelector(`${row} .dot`);
  await shot(page, "console-phone");
  await page.goto(`${kiln.url}/waterfall`);
  await page.waitForSelector(".wf-build");
  await shot(page, "waterfall-phone");
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.selectOption("header select", "dark");
  await page.goto(`${kiln.url}/waterfall`);
  await page.waitForSelector(".wf-build");
  await shot(page, "waterfall-dark");
  await page.selectOption("header select", "system");
});

// A log far bigger than the browser could hold opens with bounded range requests only:
// its own master, whose database kiln-bench-fill fills with one build and the big log.
const BIG_LOG_BYTES = Number(process.env.KILN_E2E_BIG_LOG_BYTES ?? 1_000_000_000);
const BIG_LOG_CONFIG = String.raw`
local k = require "kiln"
return {
  title = "Kiln big log",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = { k.worker{ name = "bench-worker", password = "pw" } },
  builders = { k.builder{ name = "bench-01", workers = { "bench-worker" },
                          steps = { k.shell{ name = "make", command = "true" } } } },
}
`;

test("a huge log opens at its first and last lines with bounded range requests", async ({
  context,
}) => {
  const big = new KilnSetup(BIG_LOG_CONFIG);
  const page = await context.newPage();
  try {
    await big.create();
    const started = Date.now();
    const fill = JSON.parse(
      run([
        KILN_BENCH_FILL,
        big.masterDir,
        "--builds",
        "1",
        "--builders",
        "1",
        "--log-bytes",
        String(BIG_LOG_BYTES),
      ]).trim(),
    );
    const fillMs = Date.now() - started;
    await big.startMaster();
    const lines = fill.big_log_lines;
    check(fill.big_log_bytes >= BIG_LOG_BYTES * 0.99, `the log holds ${fill.big_log_bytes} bytes`);
    const requests = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/v2/logs/")) requests.push(r.url());
    });
    let received = 0;
    page.on("response", async (r) => {
      if (!r.url().includes("/api/v2/")) return;
      try {
        received += (await r.body()).length;
      } catch {
        // a response the page navigated away from
      }
    });
    const base = `${big.url}/builders/1/builds/1/steps/output/logs/stdio`;
    await page.goto(base);
    // Line n of the log is the 9-digit n, then filler (kiln_bench_fill.cpp).
    await page.waitForSelector(".log-line[data-line='1'] .line-text:has-text('000000000 ')", {
      timeout: 30_000,
    });
    const last = String(lines - 1).padStart(9, "0");
    await page.goto(`${base}#L${lines}`);
    await page.waitForSelector(`.log-line.highlighted[data-line='${lines}']:has-text('${last} ')`, {
      timeout: 30_000,
    });
    await shot(page, "log-huge");
    const contents = requests.filter((u) => u.includes("/contents"));
    check(contents.length > 0, "the log was read through /contents");
    for (const url of requests) {
      check(!url.includes("/raw"), `no raw download: ${url}`);
      if (!url.includes("/contents")) continue;
      const limit = Number(new URL(url).searchParams.get("limit"));
      check(limit > 0 && limit <= 1000, `a bounded range: ${url}`);
    }
    check(
      received < 2_000_000,
      `the page read ${received} bytes of the API for a ${fill.big_log_bytes}-byte log`,
    );
    console.log(
      `     (log of ${(fill.big_log_bytes / 1e6).toFixed(0)} MB, ${lines} lines, filled in ${(fillMs / 1000).toFixed(1)} s; ${contents.length} range requests, ${received} bytes read)`,
    );
  } finally {
    await page.close();
    await big.stop();
  }
});

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const kiln = new KilnSetup();
  // Stopped from outside: stop the master and the worker (their own process groups) first.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      void kiln.stop({ keep: true }).finally(() => process.exit(1));
    });
  }
  let passed = 0;
  let failed = 0;
  let context = null;
  try {
    await kiln.create();
    await kiln.startMaster();
    await kiln.startWorker();
    context = await launchBrowser(kiln.root);
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    const consoleErrors = [];
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    for (const { name, fn } of tests) {
      if (only && !name.includes(only)) continue;
      const started = Date.now();
      try {
        await fn({ page, context, kiln });
        check(consoleErrors.length === 0, `errors in the page: ${consoleErrors.join("; ")}`);
        passed += 1;
        console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        failed += 1;
        consoleErrors.length = 0;
        console.log(`FAIL ${name}: ${error.message}`);
        try {
          await page.screenshot({ path: join(kiln.root, `failure-${failed}.png`) });
        } catch {
          // the page may be gone
        }
      }
    }
  } catch (error) {
    failed += 1;
    console.log(`FAIL setup: ${error.stack ?? error}`);
    console.log(kiln.logs());
  } finally {
    await context?.close().catch(() => undefined);
    await kiln.stop({ keep: keep || failed > 0 });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

await main();
