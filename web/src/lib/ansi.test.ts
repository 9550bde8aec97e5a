import { describe, expect, it } from "vitest";
import { color256, parseAnsi, segmentPresentation, stripAnsi } from "./ansi";

describe("parseAnsi", () => {
  it("splits a line at SGR sequences", () => {
    const { segments } = parseAnsi("plain \x1b[31mred\x1b[0m back");
    expect(segments.map((s) => [s.text, s.style.fg ?? null])).toEqual([
      ["plain ", null],
      ["red", "1"],
      [" back", null],
    ]);
  });
  it("handles bold, bright, background, 256 and 24-bit colours", () => {
    const { segments } = parseAnsi("\x1b[1;92;44mA\x1b[38;5;196mB\x1b[48;2;1;2;3mC");
    expect(segments[0]?.style).toMatchObject({ bold: true, fg: "10", bg: "4" });
    expect(segments[1]?.style.fg).toBe(color256(196));
    expect(segments[2]?.style.bg).toBe("rgb(1,2,3)");
  });
  it("drops other escape sequences and carries the style", () => {
    const first = parseAnsi("\x1b[2K\x1b[33mprogress");
    expect(first.segments).toEqual([{ text: "progress", style: { fg: "3" } }]);
    const next = parseAnsi("still yellow", first.style);
    expect(next.segments[0]?.style.fg).toBe("3");
  });
  it("strips escapes for search", () => {
    expect(stripAnsi("\x1b[1mbold\x1b[0m text")).toBe("bold text");
  });
  it("maps classes and inline colours", () => {
    expect(segmentPresentation({ fg: "9", bold: true })).toEqual({
      className: "ansi-fg-9 ansi-bold",
      css: {},
    });
    expect(segmentPresentation({ fg: "rgb(1,2,3)" }).css).toEqual({ color: "rgb(1,2,3)" });
  });
  it("computes the 256-colour cube and grey ramp", () => {
    expect(color256(16)).toBe("rgb(0,0,0)");
    expect(color256(231)).toBe("rgb(255,255,255)");
    expect(color256(232)).toBe("rgb(8,8,8)");
  });
});
