// The web UI at scale: a real Kiln master (release build) whose database kiln-bench-fill has
// filled with 100,000 finished builds on 2,000 builders, and headless Chromium
// (/usr/bin/chromium through playwright-core). Measures, in a fresh browser context each run
// (no cache: the app's own files are loaded too), the time from navigation until
//   - the builders list shows its first rows, and those rows with their last results;
//   - filtering the 2,000 builders by name and by tag shows the matches;
//   - the waterfall shows its build boxes.
// Prints each run, then min / median per measure, and what the page held (rows in the DOM,
// API bytes read).
//
//   node bench/ui_bench.mjs [--runs 5] [--builders 2000] [--builds 100000]
//        [--kiln build/release/app/kiln] [--fill build/release/bench/kiln-bench-fill]
//        [--keep] [--reuse ROOT] [--quick] [--out FILE]
//
// --quick: 1 run; --out: a JSON file with the same `summary` shape as the Python benchmarks
// (bench/run.py collects it).
//
// Needs web/dist (tools/dev.sh web) and web/node_modules (playwright-core).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const option = (name, fallback) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : fallback;
};
const RUNS = argv.includes("--quick") ? 1 : Number(option("runs", "5"));
const OUT = option("out", null);
const BUILDERS = Number(option("builders", "2000"));
const BUILDS = Number(option("builds", "100000"));
process.env.KILN = resolve(
    option("kiln", join(root, "build", "release", "app", "kiln")),
);
const FILL = resolve(
    option("fill", join(root, "build", "release", "bench", "kiln-bench-fill")),
);
const keep = argv.includes("--keep");
// --reuse ROOT: a root kept by an earlier --keep run (its database is already filled).
const reuse = option("reuse", null);

// The harness reads KILN when it is imported.
const { CHROMIUM, KilnSetup, run } = await import("../web/e2e/harness.mjs");
const { chromium } =
    await import("../web/node_modules/playwright-core/index.mjs");

const name = (i) => `bench-${String(i).padStart(2, "0")}`;
const builders = [];
for (let i = 1; i <= BUILDERS; i++)
    builders.push(
        `  k.builder{ name = "${name(i)}", workers = { "bench-worker" }, ` +
            `tags = { "group-${i % 20}", "${i % 2 ? "odd" : "even"}" }, ` +
            `steps = { k.shell{ name = "make", command = "true" } } },`,
    );
const CONFIG = `
local k = require "kiln"
return {
  title = "Kiln UI bench",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = { k.worker{ name = "bench-worker", password = "bench-pass" } },
  builders = {
${builders.join("\n")}
  },
}
`;

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2
        ? s[(s.length - 1) / 2]
        : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(page, action, selector, predicate) {
    const started = performance.now();
    await action();
    await page.waitForSelector(selector, { timeout: 60_000 });
    if (predicate)
        await page.waitForFunction(predicate, null, {
            timeout: 60_000,
            polling: "raf",
        });
    return performance.now() - started;
}

async function fillMaster(kiln) {
    await kiln.create();
    const started = Date.now();
    const fill = JSON.parse(
        run(
            [
                FILL,
                kiln.masterDir,
                "--builds",
                String(BUILDS),
                "--builders",
                String(BUILDERS),
                "--log-bytes",
                "1000000",
            ],
            { timeout: 1_800_000 },
        ).trim(),
    );
    console.log(
        `filled ${fill.builds} builds on ${BUILDERS} builders in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
}

async function main() {
    const kiln = new KilnSetup(CONFIG);
    let browser = null;
    try {
        if (reuse) {
            rmSync(kiln.root, { recursive: true, force: true });
            kiln.root = reuse;
            kiln.masterDir = join(reuse, "master");
            const lua = readFileSync(
                join(kiln.masterDir, "master.lua"),
                "utf8",
            );
            kiln.wwwPort = Number(/www = \{ port = (\d+)/.exec(lua)[1]);
            kiln.workerPort = Number(/worker = \{ port = (\d+)/.exec(lua)[1]);
        } else {
            await fillMaster(kiln);
        }
        await kiln.startMaster();
        const total = (
            await kiln.api("builds?limit=1&field=buildid&order=-buildid")
        ).builds[0].buildid;
        const builderCount = (
            await kiln.api("builders?field=builderid&limit=1")
        ).meta.total;
        console.log(
            `master at ${kiln.url}: ${builderCount} builders, newest build id ${total}`,
        );

        browser = await chromium.launch({
            executablePath: CHROMIUM,
            headless: true,
            args: [
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
            ],
        });
        const measures = {};
        const add = (what, ms) => (measures[what] ??= []).push(ms);
        let extra = {};
        for (let i = 0; i < RUNS; i++) {
            // A fresh context per run: nothing cached, the app itself is loaded each time.
            const context = await browser.newContext({
                viewport: { width: 1280, height: 860 },
            });
            const page = await context.newPage();
            let apiBytes = 0;
            page.on("response", async (r) => {
                if (!r.url().includes("/api/v2/")) return;
                try {
                    apiBytes += (await r.body()).length;
                } catch {
                    // navigated away
                }
            });
            const rows = await timed(
                page,
                () => page.goto(`${kiln.url}/builders`),
                ".vrow .builder-row",
            );
            add("builders list: first rows", rows);
            const withResults = await timed(
                page,
                async () => undefined,
                ".vrow .recent .dot",
            );
            add("builders list: rows with their results", rows + withResults);
            const rowsInDom = await page.locator(".vrow").count();
            add(
                "filter 2,000 builders by name",
                await timed(
                    page,
                    () => page.fill("input[type=search]", "bench-1999"),
                    ".vrow",
                    () => document.querySelectorAll(".vrow").length === 1,
                ),
            );
            await page.fill("input[type=search]", "");
            add(
                "filter by tag (100 of 2,000)",
                await timed(
                    page,
                    () => page.click(".tag-filter button:has-text('group-7')"),
                    ".vrow",
                    () =>
                        /^100 of /.test(
                            document.querySelector(".count-line")
                                ?.textContent ?? "",
                        ),
                ),
            );
            const builderBytes = apiBytes;
            apiBytes = 0;
            const waterfall = await timed(
                page,
                () => page.goto(`${kiln.url}/waterfall`),
                "[data-testid=waterfall] .wf-build",
            );
            add("waterfall: build boxes shown", waterfall);
            await page.waitForTimeout(500);
            extra = {
                rowsInDom,
                builderApiBytes: builderBytes,
                waterfallApiBytes: apiBytes,
                boxesInDom: await page.locator(".wf-build").count(),
                buildsLoaded: await page.locator(".wf-foot").textContent(),
            };
            if (i === 0) {
                await page.screenshot({
                    path: join(
                        root,
                        "docs",
                        "screenshots",
                        "scale-waterfall.png",
                    ),
                });
            }
            console.log(
                `run ${i + 1}: builders ${rows.toFixed(0)} ms (results ${(rows + withResults).toFixed(0)} ms), ` +
                    `waterfall ${waterfall.toFixed(0)} ms`,
            );
            await context.close();
        }
        console.log(`\n| what | min | median | runs |\n|---|---|---|---|`);
        for (const [what, xs] of Object.entries(measures))
            console.log(
                `| ${what} | ${Math.min(...xs).toFixed(0)} ms | ${median(xs).toFixed(0)} ms | ${xs.length} |`,
            );
        if (OUT) {
            const summary = {};
            for (const [what, xs] of Object.entries(measures))
                summary[what] = {
                    label: `${what}, ms`,
                    kiln: {
                        min: Math.min(...xs),
                        median: median(xs),
                        max: Math.max(...xs),
                    },
                };
            mkdirSync(dirname(resolve(OUT)), { recursive: true });
            writeFileSync(
                OUT,
                JSON.stringify(
                    {
                        config: {
                            runs: RUNS,
                            builders: BUILDERS,
                            builds: BUILDS,
                        },
                        summary,
                        extra,
                    },
                    null,
                    1,
                ),
            );
            console.log(`results: ${OUT}`);
        }
        console.log(
            `\nbuilder rows in the DOM: ${extra.rowsInDom}; API bytes for the builders page: ${extra.builderApiBytes}; ` +
                `waterfall: ${extra.boxesInDom} boxes in the DOM, ${extra.buildsLoaded.trim()} API bytes ${extra.waterfallApiBytes}`,
        );
    } finally {
        await browser?.close().catch(() => undefined);
        await kiln.stop({ keep: keep || reuse !== null });
    }
}

await main();
