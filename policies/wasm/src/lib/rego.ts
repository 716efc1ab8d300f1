// Reading JSON values the way the library's Rego policies do, so that the WASM versions give the same answers:
// a missing key, or a key holding the wrong type, is "undefined" (here: null), and `some x in v` iterates an
// array's elements or an object's values.

import { JSON } from "assemblyscript-json/assembly";
import { quote } from "./policy";

/** `v.key`: the value when `v` is an object holding `key`, else null. */
export function field(v: JSON.Value | null, key: string): JSON.Value | null {
  if (v === null || !v.isObj) return null;
  return (<JSON.Obj>v).get(key);
}

/** The string held by `v`, or null when `v` is not a string (`is_string`). */
export function str(v: JSON.Value | null): string | null {
  if (v === null || !v.isString) return null;
  return (<JSON.Str>v)._str;
}

/** `is_number(v)`. */
export function isNumber(v: JSON.Value | null): bool {
  return v !== null && (v.isInteger || v.isNum);
}

/** The number held by `v` (0 when it holds none: check with isNumber first). */
export function num(v: JSON.Value | null): f64 {
  if (v === null) return 0;
  if (v.isInteger) return <f64>(<JSON.Integer>v)._num;
  if (v.isNum) return (<JSON.Num>v)._num;
  return 0;
}

/** `is_array(v)`. */
export function isArray(v: JSON.Value | null): bool {
  return v !== null && v.isArr;
}

/** `v` is the JSON value `false` (a Rego expression evaluating to false fails). */
export function isFalse(v: JSON.Value | null): bool {
  return v !== null && v.isBool && !(<JSON.Bool>v)._bool;
}

/**
 * What `some x in v` iterates: an array's elements, an object's values in document order (as crafter's default
 * Rego backend, regopy, does; OPA goes in key order); nothing otherwise.
 */
export function members(v: JSON.Value | null): JSON.Value[] {
  if (v === null) return [];
  if (v.isArr) return (<JSON.Arr>v)._arr;
  if (v.isObj) return (<JSON.Obj>v)._obj.values();
  return [];
}

/** `lower(s)` as crafter's default Rego backend (regopy) computes it: ASCII letters only. */
export function lower(s: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      out += s.substring(start, i) + String.fromCharCode(c + 32);
      start = i + 1;
    }
  }
  return start == 0 ? s : out + s.substring(start);
}

/** `upper(s)`, ASCII letters only (see lower). */
export function upper(s: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) {
      out += s.substring(start, i) + String.fromCharCode(c - 32);
      start = i + 1;
    }
  }
  return start == 0 ? s : out + s.substring(start);
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
export function formatArg(v: JSON.Value): string {
  if (v.isString) return (<JSON.Str>v)._str;
  if (v.isArr) {
    const items = (<JSON.Arr>v)._arr;
    const parts = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      parts[i] = item.isString ? quote((<JSON.Str>item)._str) : formatArg(item);
    }
    return "[" + parts.join(", ") + "]";
  }
  return v.stringify();
}
