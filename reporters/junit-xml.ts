// Text for a JUnit XML document that no job's output can break: ANSI escapes and the characters
// XML 1.0 forbids removed, CDATA sections that cannot be ended early, and the fix-ups of what
// junit-report-builder writes (junit.ts says what the schema allows and why each is needed). Pure
// functions of strings, tested through junit.ts's output against junit-10.xsd.

// ANSI / VT100 escape sequences: CSI (ESC [ … or the 8-bit CSI), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC
// strings, and the two-or-three character ESC sequences (charset selection, keypad modes, RIS …).
const ANSI =
  // eslint-disable-next-line no-control-regex
  /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b\n]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b\n]*(?:\u001b\\)?|[ -/]*[0-~])|\u009b[0-?]*[ -/]*[@-~]/g;
// Characters XML 1.0 forbids: C0 controls but \t \n \r, U+FFFE, U+FFFF, and (with the `u` flag, which
// leaves well-formed surrogate pairs alone) lone surrogates.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udfff]/gu;

/** Text made safe for any XML 1.0 attribute or text node: ANSI escapes stripped, forbidden chars removed. */
export function xmlSafe(text: string): string {
  return text.replace(ANSI, '').replace(NOT_XML, '');
}

/**
 * Text for a CDATA section. junit-report-builder puts output in CDATA, and xmlbuilder splits only the
 * FIRST `]]>` of a text; a second would end the section early and let job output become markup. So
 * each `]]>` becomes `]]&gt;` (shown literally — the one change made to the job's text).
 */
export function cdataSafe(text: string): string {
  return xmlSafe(text).replaceAll(']]>', ']]&gt;');
}

function escapeAttr(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll('\t', '&#x9;')
    .replaceAll('\n', '&#xA;')
    .replaceAll('\r', '&#xD;');
}

/**
 * Where the start tag at `at` ends: its first `>` outside an attribute value. The builder escapes `<`,
 * `&` and `"` in attribute values but leaves `>`, so a run named `a>b` has a `>` inside the tag.
 */
function startTagEnd(xml: string, at: number): number {
  let quoted = false;
  for (let i = at; i < xml.length; i++) {
    const c = xml[i];
    if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) return i;
  }
  return -1;
}

/**
 * junit-report-builder's text mended, outside CDATA sections only (junit.ts says why): the
 * `skipped` count it writes on the root <testsuites>, which junit-10.xsd does not allow, removed;
 * and `skipMessages` given, in document order, to its <skipped/>, which takes none.
 */
export function fixUp(xml: string, skipMessages: string[]): string {
  const rootAt = xml.indexOf('<testsuites');
  const rootEnd = rootAt < 0 ? -1 : startTagEnd(xml, rootAt);
  if (rootAt < 0 || rootEnd < 0) throw new Error('junit-report-builder wrote no <testsuites> root');
  let out = xml.slice(0, rootAt) + xml.slice(rootAt, rootEnd).replace(/ skipped="\d+"/, '');
  let at = rootEnd;
  let n = 0;
  for (;;) {
    const skipped = xml.indexOf('<skipped/>', at);
    const cdata = xml.indexOf('<![CDATA[', at);
    if (cdata >= 0 && (skipped < 0 || cdata < skipped)) {
      const end = xml.indexOf(']]>', cdata);
      if (end < 0) throw new Error('junit-report-builder wrote an unterminated CDATA section');
      out += xml.slice(at, end + 3);
      at = end + 3;
    } else if (skipped >= 0) {
      const message = skipMessages[n++];
      if (message === undefined)
        throw new Error('junit-report-builder wrote more <skipped/> than ringfence asked');
      out += `${xml.slice(at, skipped)}<skipped message="${escapeAttr(message)}"/>`;
      at = skipped + '<skipped/>'.length;
    } else break;
  }
  if (n !== skipMessages.length) {
    throw new Error(
      `junit-report-builder wrote ${n} <skipped/> where ringfence asked for ${skipMessages.length}`,
    );
  }
  return out + xml.slice(at);
}
