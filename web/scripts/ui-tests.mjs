// The UI's tests for `tools/dev.sh test`: Vitest (unit) then the Playwright end-to-end
// suite, ending with one plain `N passed, N failed` line for both (CI reads that line).
// `--unit` runs only Vitest.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "kiln-vitest-"));
const report = join(scratch, "vitest.json");

let passed = 0;
let failed = 0;

const unit = spawnSync(
  process.execPath,
  [
    join(web, "node_modules", "vitest", "vitest.mjs"),
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
  ],
  { cwd: web, stdio: "inherit" },
);
try {
  const result = JSON.parse(readFileSync(report, "utf8"));
  passed += result.numPassedTests;
  failed += result.numFailedTests + (unit.status === 0 ? 0 : result.numFailedTests === 0 ? 1 : 0);
  console.log(
    `vitest: ${result.numPassedTests} unit tests passed, ${result.numFailedTests} failed`,
  );
} catch {
  failed += 1;
  console.log("vitest: no report (the run failed before testing)");
}
rmSync(scratch, { recursive: true, force: true });

if (!process.argv.includes("--unit")) {
  const e2e = spawnSync(process.execPath, [join(web, "e2e", "run.mjs")], {
    cwd: web,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 30 * 60_000,
    killSignal: "SIGTERM",
  });
  const lines = (e2e.stdout ?? "").trimEnd().split("\n");
  const summary = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? "");
  // Everything but the e2e suite's own closing line (ours below counts both suites).
  process.stdout.write(
    `${(summary ? lines.slice(0, -1) : lines).map((l) => `e2e: ${l}`).join("\n")}\n`,
  );
  if (summary) {
    passed += Number(summary[1]);
    failed += Number(summary[2]);
  } else {
    failed += 1;
  }
  if (e2e.status !== 0 && (!summary || Number(summary[2]) === 0)) failed += 1;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
