import { useCallback, useEffect, useState } from "react";

/**
 * The content width in px of the element given the returned callback ref,
 * following resizes (0 before layout). A callback ref, not a ref object, so
 * an element that appears after the first render is still measured.
 */
export function useElementWidth<T extends HTMLElement>(): [ref: (element: T | null) => void, width: number] {
  const [element, setElement] = useState<T | null>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    if (!element) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver((entries) => {
      const entry = entries[0];
      if (entry) setWidth(Math.floor(entry.contentRect.width));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [element]);
  const ref = useCallback((el: T | null) => setElement(el), []);
  return [ref, width];
}
