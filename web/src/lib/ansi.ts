// ANSI escape sequences in log lines → styled segments. SGR (`ESC [ ... m`) codes set
// colours and attributes: 16 colours map to theme classes (ansi-fg-1, ansi-bg-9, ...), 256
// and 24-bit colours to CSS colours. Other escape sequences are dropped.

export interface AnsiStyle {
  fg?: string; // a class suffix "0".."15" or a CSS colour "#rrggbb"/"rgb(...)"
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

// ESC [ params final-byte (CSI), ESC ] ... BEL/ST (OSC), or a lone two-byte escape.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

const CUBE = [0, 95, 135, 175, 215, 255];

/** The CSS colour of entry 16..255 of the xterm 256-colour palette (0..15 are classes). */
export function color256(n: number): string {
  if (n < 16) return String(n);
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const r = CUBE[Math.floor(i / 36)] ?? 0;
  const g = CUBE[Math.floor(i / 6) % 6] ?? 0;
  const b = CUBE[i % 6] ?? 0;
  return `rgb(${r},${g},${b})`;
}

function applySgr(style: AnsiStyle, params: string): AnsiStyle {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  let next: AnsiStyle = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] ?? 0;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 7) next.inverse = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code === 27) next.inverse = false;
    else if (code >= 30 && code <= 37) next.fg = String(code - 30);
    else if (code >= 90 && code <= 97) next.fg = String(code - 90 + 8);
    else if (code === 39) delete next.fg;
    else if (code >= 40 && code <= 47) next.bg = String(code - 40);
    else if (code >= 100 && code <= 107) next.bg = String(code - 100 + 8);
    else if (code === 49) delete next.bg;
    else if (code === 38 || code === 48) {
      const mode = codes[i + 1];
      let colour: string | undefined;
      if (mode === 5 && codes[i + 2] !== undefined) {
        colour = color256(codes[i + 2] as number);
        i += 2;
      } else if (mode === 2 && codes[i + 4] !== undefined) {
        colour = `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})`;
        i += 4;
      }
      if (colour !== undefined) {
        if (code === 38) next.fg = colour;
        else next.bg = colour;
      }
    }
  }
  return next;
}

/** Splits one line into styled segments, starting from `initial` (the style the line inherits). */
export function parseAnsi(
  line: string,
  initial: AnsiStyle = {},
): { segments: AnsiSegment[]; style: AnsiStyle } {
  const segments: AnsiSegment[] = [];
  let style = initial;
  let last = 0;
  ESCAPE.lastIndex = 0;
  for (let match = ESCAPE.exec(line); match; match = ESCAPE.exec(line)) {
    if (match.index > last) segments.push({ text: line.slice(last, match.index), style });
    if (match[2] === "m") style = applySgr(style, match[1] ?? "");
    last = ESCAPE.lastIndex;
  }
  if (last < line.length) segments.push({ text: line.slice(last), style });
  return { segments, style };
}

/** The line without escape sequences (for search and copying). */
export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, "");
}

/** Class names and inline style of a segment. */
export function segmentPresentation(style: AnsiStyle): {
  className: string;
  css: Record<string, string>;
} {
  const classes: string[] = [];
  const css: Record<string, string> = {};
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? "inverse-fg", fg ?? "inverse-bg"];
  if (fg !== undefined) {
    if (/^\d+$|^inverse/.test(fg)) classes.push(`ansi-fg-${fg}`);
    else css.color = fg;
  }
  if (bg !== undefined) {
    if (/^\d+$|^inverse/.test(bg)) classes.push(`ansi-bg-${bg}`);
    else css.backgroundColor = bg;
  }
  if (style.bold) classes.push("ansi-bold");
  if (style.dim) classes.push("ansi-dim");
  if (style.italic) classes.push("ansi-italic");
  if (style.underline) classes.push("ansi-underline");
  return { className: classes.join(" "), css };
}
