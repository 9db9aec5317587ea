/** The nearest-rank percentile of ascending values (NaN when there are none): one definition for every bench row. */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

/** The median of the values that are numbers (NaN when there are none): the rows' figure over the rounds. */
export function median (values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** A figure with `digits` decimals, or a dash for NaN (a row that has none). */
export const fixed = (n: number, digits: number): string => Number.isNaN(n) ? '–' : n.toFixed(digits)

/** A Markdown table, its columns padded; the columns in `numeric` right-aligned. */
export function markdownTable (header: string[], lines: string[][], numeric: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(' | ') + ' |'
  const rule = '|' + widths.map((w, i) => numeric.has(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2)).join('|') + '|'
  return [fmt(header), rule, ...lines.map(fmt)].join('\n')
}
