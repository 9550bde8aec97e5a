// A list that renders only the rows in view (fixed row height), with keyboard navigation:
// Up/Down/Home/End/PageUp/PageDown move the active row, Enter activates it.
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { scrollTopFor, virtualWindow } from "../lib/virtual";

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  /** CSS height of the scrolling box. */
  height: string;
  renderRow: (index: number, active: boolean) => ReactNode;
  onRange?: (first: number, last: number) => void;
  onActivate?: (index: number) => void;
  label: string;
  className?: string;
}

export function VirtualList({
  count,
  rowHeight,
  height,
  renderRow,
  onRange,
  onActivate,
  label,
  className,
}: VirtualListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [active, setActive] = useState(-1);

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const measure = () => setViewport(element.clientHeight || 600);
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const window_ = virtualWindow({
    count,
    rowHeight,
    scrollTop,
    viewportHeight: viewport,
    overscan: 8,
  });
  const { first, last } = window_;

  useEffect(() => {
    onRange?.(first, last);
  }, [first, last, onRange]);

  const moveTo = useCallback(
    (index: number) => {
      const element = box.current;
      if (!element || count === 0) return;
      const target = Math.max(0, Math.min(count - 1, index));
      setActive(target);
      const w = virtualWindow({
        count,
        rowHeight,
        scrollTop: element.scrollTop,
        viewportHeight: element.clientHeight,
        overscan: 0,
      });
      if (target < w.first + 1 || target >= w.last - 1) {
        element.scrollTop = scrollTopFor(
          target - (target >= w.last - 1 ? Math.floor(element.clientHeight / rowHeight) - 1 : 0),
          count,
          rowHeight,
          element.clientHeight,
        );
      }
    },
    [count, rowHeight],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const page = Math.max(1, Math.floor(viewport / rowHeight) - 1);
    const keys: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + page,
      PageUp: active - page,
      Home: 0,
      End: count - 1,
    };
    if (event.key in keys) {
      event.preventDefault();
      moveTo(keys[event.key] as number);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      onActivate?.(active);
    }
  };

  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div
        key={i}
        role="listitem"
        className={`vrow${i === active ? " active" : ""}`}
        style={{ top: window_.top(i), height: rowHeight }}
        onMouseDown={() => setActive(i)}
      >
        {renderRow(i, i === active)}
      </div>,
    );
  }
  return (
    <div
      ref={box}
      className={`vlist ${className ?? ""}`}
      style={{ height }}
      tabIndex={0}
      role="list"
      aria-label={`${label} (${count}); use the arrow keys to move and Enter to open`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: window_.totalHeight, position: "relative" }}>{rows}</div>
    </div>
  );
}
