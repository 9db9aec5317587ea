/**
 * Export formats as async generators of lines, each with its line end, so a route can hand them to
 * `Readable.from` and stream any number of records in constant memory: one record is read, written and
 * forgotten before the next is asked for.
 */

/** One JSON object per line (`JSON.stringify` escapes every line break inside a value). */
export async function * ndjsonLines (records: AsyncIterable<Record<string, unknown>>): AsyncGenerator<string> {
  for await (const record of records) {
    yield `${JSON.stringify(record)}\n`
  }
}

/**
 * A spreadsheet opens a cell that starts with one of these as a formula (CSV injection); such a cell gets a
 * leading single quote, which makes it text.
 */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r'])
const NEEDS_QUOTES = /[",\r\n]/

/**
 * One cell: empty for an absent value, numbers and booleans as printed, nested objects and arrays as JSON,
 * strings as they are. Numbers are not guarded: `-3` is a number to a spreadsheet, never a formula, and a
 * quote would turn it into text. Quoted as RFC 4180 says: a cell holding a comma, a quote, CR or LF goes in
 * double quotes, with its quotes doubled.
 */
export function csvCell (value: unknown): string {
  let text: string
  if (value === undefined || value === null) {
    text = ''
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    text = String(value)
  } else if (typeof value === 'string') {
    text = FORMULA_START.has(value.charAt(0)) ? `'${value}` : value
  } else if (typeof value === 'object') {
    text = JSON.stringify(value)
  } else {
    text = String(value)
  }
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A header line of the column names, then one line per record with those columns, CRLF-terminated. */
export async function * csvLines (
  records: AsyncIterable<Record<string, unknown>>,
  columns: readonly string[]
): AsyncGenerator<string> {
  yield `${columns.map(csvCell).join(',')}\r\n`
  for await (const record of records) {
    yield `${columns.map((column) => csvCell(record[column])).join(',')}\r\n`
  }
}
