// A windowed list: only the rows in view (plus a few either side) are in the
// DOM, so thousands of hosts scroll as smoothly as ten. Rows have a fixed
// height, which keeps the arithmetic trivial and scrolling jank-free.
//
// Keyboard: rows are expected to be focusable (links); arrow keys, Page
// Up/Down, Home and End move focus between rows, scrolling the target row
// into existence first.

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type ReactNode } from "react";

interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  getKey: (item: T) => string | number;
  renderRow: (item: T, index: number) => ReactNode;
  /** Rows rendered beyond each edge of the view. */
  overscan?: number;
  /** Told which rows are rendered, e.g. to load their data. */
  onRangeChange?: (start: number, end: number) => void;
  className?: string;
  style?: CSSProperties;
  ariaLabel: string;
}

/** Which rows to render for a scroll position; exported for tests. */
export function visibleRange(scrollTop: number, viewportHeight: number, rowHeight: number, count: number, overscan: number): [number, number] {
  if (count === 0 || rowHeight <= 0) return [0, 0];
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(viewportHeight, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return [start, end];
}

export function VirtualList<T>({ items, rowHeight, getKey, renderRow, overscan = 6, onRangeChange, className = "", style, ariaLabel }: VirtualListProps<T>) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);
  const pendingFocus = useRef<number | null>(null);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return;
    setHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const [start, end] = visibleRange(scrollTop, height, rowHeight, items.length, overscan);

  useEffect(() => {
    onRangeChange?.(start, end);
  }, [start, end, onRangeChange, items]);

  // Focus a row that keyboard navigation scrolled into existence.
  useEffect(() => {
    const index = pendingFocus.current;
    if (index === null) return;
    const row = viewport.current?.querySelector<HTMLElement>(`[data-row-index="${index}"] a, [data-row-index="${index}"] [tabindex]`);
    if (row) {
      pendingFocus.current = null;
      row.focus({ preventScroll: true });
    }
  });

  const moveFocus = useCallback(
    (index: number) => {
      const element = viewport.current;
      if (!element || items.length === 0) return;
      const target = Math.min(items.length - 1, Math.max(0, index));
      const top = target * rowHeight;
      if (top < element.scrollTop) element.scrollTop = top;
      else if (top + rowHeight > element.scrollTop + element.clientHeight) element.scrollTop = top + rowHeight - element.clientHeight;
      pendingFocus.current = target;
      setScrollTop(element.scrollTop);
    },
    [items.length, rowHeight],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const rowElement = (event.target as HTMLElement).closest<HTMLElement>("[data-row-index]");
    if (!rowElement) return;
    const current = Number(rowElement.dataset.rowIndex);
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: current + 1,
      ArrowUp: current - 1,
      PageDown: current + page,
      PageUp: current - page,
      Home: 0,
      End: items.length - 1,
    };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    moveFocus(next);
  };

  const rows: ReactNode[] = [];
  for (let i = start; i < end; i += 1) {
    const item = items[i]!;
    rows.push(
      <div key={getKey(item)} role="listitem" data-row-index={i} className="absolute inset-x-0" style={{ top: i * rowHeight, height: rowHeight }}>
        {renderRow(item, i)}
      </div>,
    );
  }

  return (
    <div
      ref={viewport}
      className={`relative overflow-y-auto overscroll-contain ${className}`}
      style={style}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div role="list" aria-label={ariaLabel} aria-rowcount={items.length} className="relative" style={{ height: items.length * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
