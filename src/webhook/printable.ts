/**
 * Alert text is untrusted: it goes into a file the root side parses line by line and into the journal.
 * Everything outside printable ASCII (newlines included) becomes '?', and the result is cut to maxLength.
 */
export function printableAscii(text: string, maxLength: number): string {
  return text.replace(/[^\x20-\x7e]/gu, '?').slice(0, maxLength);
}
