import type { ReactNode } from "react";

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** Numbers align right so digits line up. */
  numeric?: boolean;
}

/** A plain, horizontally scrollable table (phones scroll it sideways). */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  empty = "Nothing to show.",
  rowAttrs,
  wrap = false,
  stack = false,
}: {
  caption: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string | number;
  empty?: string;
  /** data-* attributes of a row (tests and styling hooks). */
  rowAttrs?: (row: T) => Record<`data-${string}`, string | undefined>;
  /** Let cells wrap (long texts) instead of scrolling sideways. */
  wrap?: boolean;
  /** On phones, show each row as a stack of "header: value" lines instead of scrolling sideways. */
  stack?: boolean;
}) {
  if (rows.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">{empty}</p>;
  // Stacked rows are CSS only: the same table, its cells turned into labelled lines below 640 px.
  const st = (classes: string) => (stack ? classes : "");
  return (
    <div className="overflow-x-auto">
      <table className={`w-full text-sm ${st("max-sm:block")}`}>
        <caption className="sr-only">{caption}</caption>
        <thead className={st("max-sm:hidden")}>
          <tr className="border-b border-slate-200 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
            {columns.map((c) => (
              <th key={c.header} scope="col" className={`px-2 py-1.5 font-semibold whitespace-nowrap ${c.numeric ? "text-right" : "text-left"}`}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className={st("max-sm:block")}>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowAttrs?.(row)} className={`border-b border-slate-100 last:border-0 dark:border-slate-800/60 ${wrap ? "align-top" : ""} ${st("max-sm:block max-sm:py-2")}`}>
              {columns.map((c) => (
                <td
                  key={c.header}
                  data-label={c.header}
                  className={`px-2 py-1.5 ${wrap ? "" : "whitespace-nowrap"} ${c.numeric ? "text-right tabular-nums" : ""} ${st(
                    "max-sm:flex max-sm:items-start max-sm:gap-3 max-sm:py-0.5 max-sm:text-left max-sm:whitespace-normal max-sm:before:w-24 max-sm:before:shrink-0 max-sm:before:text-xs max-sm:before:text-slate-500 max-sm:before:content-[attr(data-label)] dark:max-sm:before:text-slate-400",
                  )}`}
                >
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
