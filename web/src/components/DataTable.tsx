import type { ReactNode } from "react";

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** Numbers align right so digits line up. */
  numeric?: boolean;
}

/** A plain, horizontally scrollable table (phones scroll it sideways). */
export function DataTable<T>({ caption, columns, rows, rowKey, empty = "Nothing to show." }: { caption: string; columns: Column<T>[]; rows: readonly T[]; rowKey: (row: T) => string | number; empty?: string }) {
  if (rows.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">{empty}</p>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr className="border-b border-slate-200 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
            {columns.map((c) => (
              <th key={c.header} scope="col" className={`px-2 py-1.5 font-semibold whitespace-nowrap ${c.numeric ? "text-right" : "text-left"}`}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} className="border-b border-slate-100 last:border-0 dark:border-slate-800/60">
              {columns.map((c) => (
                <td key={c.header} className={`px-2 py-1.5 whitespace-nowrap ${c.numeric ? "text-right tabular-nums" : ""}`}>
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
