// A lazy JSON reader for policies: values are read in place from the input bytes, when asked for.
//
// A `Json` is a position in the document. Nothing is parsed up front, so a policy's memory is the input document
// plus what it reads out of it (strings it decodes, the lists it walks): with the PDK's stub runtime, which never
// frees, a reader that built the whole tree first would need 30 times the document's size. Looking a key up
// scans the object's members, so read each field you need once and keep it.
//
//   const doc = Json.parse(Host.input());
//   const components = doc.get("components");            // null: missing, or `doc` is not an object
//   if (components !== null && components.isArray) {
//     const items = components.items();                  // array elements (or an object's values)
//     const name = items[0].get("name");
//     const text = name === null ? null : name.str();   // null unless it is a string
//   }
//
// The document is expected to be valid JSON (crafter writes it); malformed text stops the evaluation with an error.

import { fail } from "./policy";

const QUOTE: u8 = 0x22;
const BACKSLASH: u8 = 0x5c;
const OPEN_OBJECT: u8 = 0x7b;
const CLOSE_OBJECT: u8 = 0x7d;
const OPEN_ARRAY: u8 = 0x5b;
const CLOSE_ARRAY: u8 = 0x5d;
const COMMA: u8 = 0x2c;
const COLON: u8 = 0x3a;

export class Json {
  constructor(
    public doc: Uint8Array,
    public pos: i32,
  ) {}

  /** The value of a whole JSON text (the input document, or the `args` config). */
  static parse(doc: Uint8Array): Json {
    const pos = ws(doc, 0);
    if (pos >= doc.length) fail("JSON: empty document");
    return new Json(doc, pos);
  }

  /** The value of a JSON text given as a string. */
  static parseString(text: string): Json {
    return Json.parse(Uint8Array.wrap(String.UTF8.encode(text)));
  }

  get isObject(): bool {
    return this.doc[this.pos] == OPEN_OBJECT;
  }

  get isArray(): bool {
    return this.doc[this.pos] == OPEN_ARRAY;
  }

  get isString(): bool {
    return this.doc[this.pos] == QUOTE;
  }

  get isNumber(): bool {
    const c = this.doc[this.pos];
    return c == 0x2d || (c >= 0x30 && c <= 0x39);
  }

  get isBool(): bool {
    const c = this.doc[this.pos];
    return c == 0x74 || c == 0x66;
  }

  /** The value is `false`. */
  get isFalse(): bool {
    return this.doc[this.pos] == 0x66;
  }

  /** The value is `true`. */
  get isTrue(): bool {
    return this.doc[this.pos] == 0x74;
  }

  get isNull(): bool {
    return this.doc[this.pos] == 0x6e;
  }

  /** The member `key` of an object (the last one, should the key be repeated); null when absent or not an object. */
  get(key: string): Json | null {
    if (!this.isObject) return null;
    const d = this.doc;
    let found: i32 = -1;
    let i = ws(d, this.pos + 1);
    if (at(d, i) == CLOSE_OBJECT) return null;
    for (;;) {
      if (at(d, i) != QUOTE) fail("JSON: expected a member name");
      const keyStart = i;
      const keyEnd = skipString(d, i);
      i = ws(d, keyEnd);
      if (at(d, i) != COLON) fail("JSON: expected ':'");
      i = ws(d, i + 1);
      if (keyEquals(d, keyStart, keyEnd, key)) found = i;
      i = ws(d, skipValue(d, i));
      const c = at(d, i);
      if (c == COMMA) {
        i = ws(d, i + 1);
      } else if (c == CLOSE_OBJECT) {
        break;
      } else {
        fail("JSON: expected ',' or '}'");
      }
    }
    return found < 0 ? null : new Json(d, found);
  }

  /** What Rego's `some x in v` iterates: an array's elements, or an object's values in document order. */
  items(): Json[] {
    const out = new Array<Json>();
    const d = this.doc;
    if (this.isArray) {
      let i = ws(d, this.pos + 1);
      if (at(d, i) == CLOSE_ARRAY) return out;
      for (;;) {
        out.push(new Json(d, i));
        i = ws(d, skipValue(d, i));
        const c = at(d, i);
        if (c == COMMA) {
          i = ws(d, i + 1);
        } else if (c == CLOSE_ARRAY) {
          break;
        } else {
          fail("JSON: expected ',' or ']'");
        }
      }
    } else if (this.isObject) {
      let i = ws(d, this.pos + 1);
      if (at(d, i) == CLOSE_OBJECT) return out;
      for (;;) {
        if (at(d, i) != QUOTE) fail("JSON: expected a member name");
        i = ws(d, skipString(d, i));
        if (at(d, i) != COLON) fail("JSON: expected ':'");
        i = ws(d, i + 1);
        out.push(new Json(d, i));
        i = ws(d, skipValue(d, i));
        const c = at(d, i);
        if (c == COMMA) {
          i = ws(d, i + 1);
        } else if (c == CLOSE_OBJECT) {
          break;
        } else {
          fail("JSON: expected ',' or '}'");
        }
      }
    }
    return out;
  }

  /** The string, decoded; null when the value is not a string. */
  str(): string | null {
    if (!this.isString) return null;
    return decodeString(this.doc, this.pos);
  }

  /** The number; NaN when the value is not a number. */
  num(): f64 {
    if (!this.isNumber) return NaN;
    const end = skipValue(this.doc, this.pos);
    return parseFloat(String.UTF8.decodeUnsafe(dataStart(this.doc) + <usize>this.pos, <usize>(end - this.pos)));
  }

  /** The value's JSON text, as it is in the document. */
  text(): string {
    const end = skipValue(this.doc, this.pos);
    return String.UTF8.decodeUnsafe(dataStart(this.doc) + <usize>this.pos, <usize>(end - this.pos));
  }
}

function at(d: Uint8Array, i: i32): u8 {
  if (i >= d.length) fail("JSON: unexpected end of document");
  return unchecked(d[i]);
}

function ws(d: Uint8Array, i: i32): i32 {
  while (i < d.length) {
    const c = unchecked(d[i]);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

/** The index after the string starting (with its quote) at i. */
function skipString(d: Uint8Array, i: i32): i32 {
  i++;
  let c = at(d, i);
  while (c != QUOTE) {
    i += c == BACKSLASH ? 2 : 1;
    c = at(d, i);
  }
  return i + 1;
}

/** The index after the value starting at i. */
function skipValue(d: Uint8Array, i: i32): i32 {
  const c = at(d, i);
  if (c == QUOTE) return skipString(d, i);
  if (c == OPEN_OBJECT || c == OPEN_ARRAY) {
    let depth = 0;
    for (;;) {
      const b = at(d, i);
      if (b == QUOTE) {
        i = skipString(d, i);
        continue;
      }
      if (b == OPEN_OBJECT || b == OPEN_ARRAY) depth++;
      else if (b == CLOSE_OBJECT || b == CLOSE_ARRAY) {
        depth--;
        if (depth == 0) return i + 1;
      }
      i++;
    }
  }
  // true, false, null or a number: up to the next delimiter.
  const start = i;
  while (i < d.length) {
    const b = unchecked(d[i]);
    if (b == COMMA || b == CLOSE_OBJECT || b == CLOSE_ARRAY || b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09) break;
    i++;
  }
  if (i == start) fail("JSON: expected a value");
  return i;
}

/** Whether the member name from keyStart (its opening quote) to keyEnd (after its closing quote) is `key`. */
function keyEquals(d: Uint8Array, keyStart: i32, keyEnd: i32, key: string): bool {
  const start = keyStart + 1;
  const n = keyEnd - 1 - start;
  let plain = true;
  for (let k = start; k < start + n; k++) {
    if (unchecked(d[k]) == BACKSLASH) {
      plain = false;
      break;
    }
  }
  if (plain && isAscii(key)) {
    if (n != key.length) return false;
    for (let k = 0; k < n; k++) if (<i32>unchecked(d[start + k]) != key.charCodeAt(k)) return false;
    return true;
  }
  return decodeString(d, keyStart) == key;
}

function isAscii(s: string): bool {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) >= 0x80) return false;
  return true;
}

function dataStart(d: Uint8Array): usize {
  return changetype<usize>(d.buffer) + <usize>d.byteOffset;
}

/** The string starting (with its quote) at i, decoded from UTF-8 with its escapes. */
function decodeString(d: Uint8Array, i: i32): string {
  const base = dataStart(d);
  let k = i + 1;
  let c = at(d, k);
  while (c != QUOTE && c != BACKSLASH) c = at(d, ++k);
  if (c == QUOTE) return String.UTF8.decodeUnsafe(base + <usize>(i + 1), <usize>(k - i - 1)); // no escapes
  let out = "";
  let run = i + 1;
  for (;;) {
    const c = at(d, k);
    if (c == QUOTE) break;
    if (c != BACKSLASH) {
      k++;
      continue;
    }
    if (k > run) out += String.UTF8.decodeUnsafe(base + <usize>run, <usize>(k - run));
    const e = at(d, k + 1);
    k += 2;
    if (e == 0x6e) out += "\n";
    else if (e == 0x74) out += "\t";
    else if (e == 0x72) out += "\r";
    else if (e == 0x62) out += "\b";
    else if (e == 0x66) out += "\f";
    else if (e == 0x75) {
      let code = 0;
      for (let h = 0; h < 4; h++) code = (code << 4) | hexDigit(at(d, k + h));
      k += 4;
      out += String.fromCharCode(code); // a surrogate pair arrives as two escapes, joined here
    } else out += String.fromCharCode(e); // \" \\ \/
    run = k;
  }
  if (k > run) out += String.UTF8.decodeUnsafe(base + <usize>run, <usize>(k - run));
  return out;
}

function hexDigit(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  fail("JSON: bad \\u escape");
  return 0;
}
