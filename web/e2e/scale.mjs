// The UI at scale, against a real master: 2,001 builders, 100,000 builds (inserted into the
// master's SQLite database while it is stopped), and a log of 1,000,000 lines written by a
// real build. Measures how long each view takes to show its data in headless Chromium, checks
// that only a screenful of rows is in the page, and saves screenshots (docs/screenshots/scale-*).
// Not part of `tools/dev.sh test` (it takes a few minutes); run: node e2e/scale.mjs [--keep]
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { KilnSetup, launchBrowser, ROOT, waitFor } from "./harness.mjs";

const LOG_LINES = Number(process.env.KILN_SCALE_LOG_LINES ?? 1_000_000);
const CONFIG = String.raw`
local k = require "kiln"
local builders = {
  k.builder{ name = "biglog", workers = { "worker1" }, tags = { "big" },
    steps = { k.shell{ name = "spew", command = "seq 1 @LINES@ | sed 's/^/log line /'" } } },
}
for i = 1, 2000 do
  builders[#builders + 1] = k.builder{
    name = string.format("builder-%04d", i), workers = { "worker1" },
    tags = { "group-" .. (i % 20), (i % 2 == 0) and "even" or "odd" },
    description = "Scale test builder " .. i,
    steps = { k.shell{ name = "run", command = "true" } },
  }
end
return {
  title = "Kiln at scale",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = { k.worker{ name = "worker1", password = "worker-pw", max_builds = 2 } },
  builders = builders,
  schedulers = { k.force{ name = "force", builders = { "biglog" } } },
}
`.replace("@LINES@", String(LOG_LINES));

const INSERT = String.raw`
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
request = db.execute('SELECT id FROM buildrequests ORDER BY id LIMIT 1').fetchone()[0]
master = db.execute('SELECT id FROM masters LIMIT 1').fetchone()[0]
worker = db.execute('SELECT id FROM workers LIMIT 1').fetchone()[0]
ids = dict(db.execute('SELECT name, id FROM builders'))
now = int(time.time()) - 200000
rows = []
def add(builderid, number):
    start = now + len(rows)
    rows.append((number, builderid, request, worker, master, start, start + 30 + number % 90,
                 'build successful' if number % 7 else 'failed test', 0 if number % 7 else 2))
for n in range(1, 50001):
    add(ids['builder-0001'], n)
i = 2
while len(rows) < 100000:
    for n in range(1, 27):
        if len(rows) < 100000:
            add(ids['builder-%04d' % i], n)
    i += 1
db.executemany('INSERT INTO builds (number, builderid, buildrequestid, workerid, masterid, '
               'started_at, complete_at, state_string, results) VALUES (?,?,?,?,?,?,?,?,?)', rows)
db.commit()
print(len(rows))
`;

const results = [];
async function measure(what, page, url, selector, extra) {
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector(selector, { timeout: 60_000 });
  if (extra) await extra();
  const ms = Date.now() - started;
  results.push({ what, ms });
  console.log(`${what}: ${ms} ms`);
  return ms;
}

async function main() {
  const kiln = new KilnSetup(CONFIG);
  let context = null;
  let failed = false;
  try {
    await kiln.create();
    await kiln.startMaster();
    await kiln.startWorker();
    const started = Date.now();
    await kiln.control("forceschedulers/force", "force", { builderid: 1, reason: "a big log" });
    await waitFor(
      "the big log's build",
      async () => (await kiln.api("builds/1")).builds[0]?.complete,
      600_000,
    );
    console.log(`build of ${LOG_LINES} lines: ${Date.now() - started} ms`);
    await kiln.stopMaster();
    const inserted = spawnSync(
      "/usr/bin/python3",
      ["-c", INSERT, join(kiln.masterDir, "state.sqlite")],
      { encoding: "utf8" },
    );
    if (inserted.status !== 0) throw new Error(inserted.stderr);
    console.log(`inserted ${inserted.stdout.trim()} builds`);
    await kiln.startMaster();
    await kiln.waitWorkerConnected();

    context = await launchBrowser(kiln.root);
    const page = context.pages()[0] ?? (await context.newPage());
    const shots = join(ROOT, "docs", "screenshots");

    await measure("builders (2,001), first rows", page, `${kiln.url}/builders`, ".builder-row");
    await page.waitForSelector(".recent .dot", { timeout: 30_000 });
    const rows = await page.locator(".vrow").count();
    console.log(`  rows in the page: ${rows} of 2001`);
    if (rows > 100) throw new Error(`the builders list is not virtualised (${rows} rows)`);
    await page.screenshot({ path: join(shots, "scale-builders.png") });
    const filterStart = Date.now();
    await page.fill("input[type=search]", "builder-19");
    await page.waitForSelector(".count-line:has-text('100 of 2001 builders')");
    console.log(`filter 2,001 builders by name: ${Date.now() - filterStart} ms`);
    results.push({ what: "filter by name", ms: Date.now() - filterStart });

    await measure(
      "builder with 50,000 builds, first page",
      page,
      `${kiln.url}/builders/2`,
      "table.builds a[href='/builders/2/builds/50000']",
    );
    await measure(
      "builder with 50,000 builds, page 1,000",
      page,
      `${kiln.url}/builders/2?page=1000`,
      "table.builds a[href='/builders/2/builds/1']",
    );
    await page.screenshot({ path: join(shots, "scale-builder.png") });
    await measure("home with 100,000 builds", page, `${kiln.url}/`, "table.builds");

    const logUrl = `${kiln.url}/builders/1/builds/1/steps/spew/logs/stdio`;
    await measure(
      `log of ${LOG_LINES.toLocaleString()} lines, first lines`,
      page,
      logUrl,
      ".log-line:has-text('log line 1')",
    );
    const last = LOG_LINES + 2; // the worker's header lines come first
    await measure(
      "the same log, jump to its last lines (#L)",
      page,
      `${logUrl}#L${last}`,
      `.log-line.highlighted[data-line='${last}']`,
    );
    const lines = await page.locator(".log-line").count();
    console.log(`  log lines in the page: ${lines} of ${LOG_LINES}`);
    if (lines > 500) throw new Error(`the log is not virtualised (${lines} lines)`);
    await page.screenshot({ path: join(shots, "scale-log.png") });
    const scrollStart = Date.now();
    await page.locator("[data-testid=log-lines]").evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
    });
    await page.waitForSelector(".log-line:has-text('log line 5')", { timeout: 30_000 });
    console.log(`scroll to the middle of the log: ${Date.now() - scrollStart} ms`);
  } catch (error) {
    failed = true;
    console.log(`FAIL: ${error.stack ?? error}`);
    console.log(kiln.logs());
  } finally {
    await context?.close().catch(() => undefined);
    await kiln.stop({ keep: process.argv.includes("--keep") || failed });
  }
  process.exit(failed ? 1 : 0);
}

await main();
