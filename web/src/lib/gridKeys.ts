// Arrow keys in a table of links (the console, the grid): every focusable cell carries
// data-r (row) and data-c (column); an arrow moves the focus to the nearest cell that way.

export type Arrow = "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight";

export interface GridCell {
  r: number;
  c: number;
}

/** The index in `cells` to move to from `from` (null: none). */
export function nextCell(cells: readonly GridCell[], from: GridCell, key: Arrow): number | null {
  let best: number | null = null;
  let bestScore = Infinity;
  cells.forEach((cell, i) => {
    const dr = cell.r - from.r;
    const dc = cell.c - from.c;
    let along: number;
    let across: number;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      along = key === "ArrowRight" ? dc : -dc;
      across = Math.abs(dr);
    } else {
      along = key === "ArrowDown" ? dr : -dr;
      across = Math.abs(dc);
    }
    if (along <= 0) return;
    const score = across * 1000 + along;
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

export function onGridKey(event: {
  key: string;
  target: EventTarget;
  currentTarget: HTMLElement;
  preventDefault: () => void;
}): void {
  const key = event.key;
  if (key !== "ArrowUp" && key !== "ArrowDown" && key !== "ArrowLeft" && key !== "ArrowRight")
    return;
  const target = (event.target as HTMLElement).closest<HTMLElement>("[data-r][data-c]");
  if (!target) return;
  const elements = [...event.currentTarget.querySelectorAll<HTMLElement>("[data-r][data-c]")];
  const cells = elements.map((e) => ({ r: Number(e.dataset.r), c: Number(e.dataset.c) }));
  const index = nextCell(cells, { r: Number(target.dataset.r), c: Number(target.dataset.c) }, key);
  if (index === null) return;
  event.preventDefault();
  elements[index]?.focus();
}
