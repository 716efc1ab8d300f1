// Reading JSON values the way the library's Rego policies do, so that the WASM versions give the same answers:
// a missing key, or a key holding the wrong type, is "undefined" (here: null), and `some x in v` iterates an
// array's elements or an object's values.

import { Json } from "./json";
import { quote } from "./policy";

/** `v.key`: the value when `v` is an object holding `key`, else null. */
export function field(v: Json | null, key: string): Json | null {
  return v === null ? null : v.get(key);
}

/** The string held by `v`, or null when `v` is not a string (`is_string`). */
export function str(v: Json | null): string | null {
  return v === null ? null : v.str();
}

/** `is_number(v)`. */
export function isNumber(v: Json | null): bool {
  return v !== null && v.isNumber;
}

/** The number held by `v` (check with isNumber first). */
export function num(v: Json | null): f64 {
  return v === null ? NaN : v.num();
}

/** `is_array(v)`. */
export function isArray(v: Json | null): bool {
  return v !== null && v.isArray;
}

/** `v` is the JSON value `false` (a Rego expression evaluating to false fails). */
export function isFalse(v: Json | null): bool {
  return v !== null && v.isFalse;
}

/**
 * What `some x in v` iterates: an array's elements, an object's values in document order (as crafter's default
 * Rego backend, regopy, does; OPA goes in key order); nothing otherwise.
 */
export function members(v: Json | null): Json[] {
  return v === null ? [] : v.items();
}

/** `lower(s)` as crafter's default Rego backend (regopy) computes it: ASCII letters only. */
export function lower(s: string): string {
  return shiftAscii(s, 0x41, 0x5a, 32);
}

/** `upper(s)`, ASCII letters only (see lower). */
export function upper(s: string): string {
  return shiftAscii(s, 0x61, 0x7a, -32);
}

/** `s` with the code units in [from, to] shifted by `by`: one allocation, and none when nothing changes. */
function shiftAscii(s: string, from: i32, to: i32, by: i32): string {
  const n = s.length;
  let first = 0;
  while (first < n) {
    const c = <i32>s.charCodeAt(first);
    if (c >= from && c <= to) break;
    first++;
  }
  if (first == n) return s;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  memory.copy(changetype<usize>(out), changetype<usize>(s), <usize>n << 1);
  for (let i = first; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c >= from && c <= to) store<u16>(changetype<usize>(out) + (<usize>i << 1), <u16>(c + by));
  }
  return out;
}

/** `x in list` for a list of strings. */
export function includes(list: string[], x: string): bool {
  for (let i = 0; i < list.length; i++) if (list[i] == x) return true;
  return false;
}

/** `sprintf("%d", [n])` for a whole number. */
export function formatInt(n: f64): string {
  if (n == Math.floor(n) && Math.abs(n) < 9007199254740992.0) return (<i64>n).toString();
  return n.toString();
}

/** `sprintf("%v", [v])` for an argument value: a string as it is, a list as `["a", "b"]`. */
export function formatArg(v: Json): string {
  const s = v.str();
  if (s !== null) return s;
  if (v.isArray) {
    const items = v.items();
    const parts = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i].str();
      parts[i] = item !== null ? quote(item) : formatArg(items[i]);
    }
    return "[" + parts.join(", ") + "]";
  }
  return v.text();
}
