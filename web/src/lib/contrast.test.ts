// Text colours of both themes against their backgrounds: WCAG AA (4.5:1) for text, 3:1 for
// the ANSI palette's dimmest colours in logs (black/grey, which programs use for faint text).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const css = readFileSync(join(__dirname, "..", "styles.css"), "utf8");

function theme(selector: string): Record<string, string> {
  const start = css.indexOf(selector);
  const body = css.slice(css.indexOf("{", start) + 1, css.indexOf("}", start));
  return Object.fromEntries(
    [...body.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]),
  );
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const TEXT_PAIRS: [string, string][] = [
  ["fg", "bg"],
  ["fg", "bg-alt"],
  ["fg-muted", "bg"],
  ["fg-muted", "bg-alt"],
  ["link", "bg"],
  ["danger", "bg"],
  ["primary-fg", "primary"],
  ["success", "success-bg"],
  ["warnings", "warnings-bg"],
  ["failure", "failure-bg"],
  ["skipped", "skipped-bg"],
  ["exception", "exception-bg"],
  ["retry", "retry-bg"],
  ["cancelled", "cancelled-bg"],
  ["running", "running-bg"],
  ["log-fg", "log-bg"],
  ["log-number", "log-bg"],
  ["log-stderr", "log-bg"],
  ["log-header", "log-bg"],
  ["log-fg", "log-highlight"],
  ["log-fg", "log-current"],
];

describe.each([
  ["light", ":root {"],
  ["dark", ':root[data-theme="dark"]'],
])("%s theme", (_name, selector) => {
  const colours = theme(selector);
  it.each(TEXT_PAIRS)("%s on %s reaches 4.5:1", (fg, bg) => {
    expect(colours[fg], fg).toBeDefined();
    expect(colours[bg], bg).toBeDefined();
    expect(contrast(colours[fg] as string, colours[bg] as string)).toBeGreaterThanOrEqual(4.5);
  });
  it("ANSI colours stay readable on the log background", () => {
    for (let i = 0; i < 16; i++) {
      const ratio = contrast(colours[`ansi-${i}`] as string, colours["log-bg"] as string);
      expect(ratio, `ansi-${i}`).toBeGreaterThanOrEqual(i === 0 || i === 8 ? 3 : 4.5);
    }
  });
});

describe("dark theme", () => {
  it("is the same whether chosen or taken from the system", () => {
    expect(theme(':root:not([data-theme="light"])')).toEqual(theme(':root[data-theme="dark"]'));
  });
});
