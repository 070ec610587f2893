/**
 * Splits RFC 822-style control data (dpkg's status file, apk's installed db uses a terser
 * form handled elsewhere) into paragraphs of fields. Continuation lines (leading space or tab)
 * belong to the previous field and are dropped: no field the scanner reads is multi-line.
 */
export function parseParagraphs(text: string): Array<Map<string, string>> {
  const paragraphs: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      if (current.size > 0) paragraphs.push(current);
      current = new Map();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (current.size > 0) paragraphs.push(current);
  return paragraphs;
}
