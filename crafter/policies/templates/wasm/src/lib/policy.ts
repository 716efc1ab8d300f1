// The WASM policy contract (docs/policies/wasm-authoring.md), on the Extism AssemblyScript PDK:
//
// - the input (Extism input) is the JSON document a Rego policy gets as `input`, without `args`;
// - the arguments are the Extism config key `args`: a JSON object of string or list-of-string values, absent
//   when the attachment gives none;
// - the result is written with `output_set` as
//   {"violations": [...], "skipped": bool, "skip_reason": "...", "ignore": bool}.
//
// Built with `--runtime stub`: memory is never freed, so an instance evaluates one document (crafter makes a
// fresh instance from the compiled module for each evaluation).

import { Config, Host } from "@extism/as-pdk";
import { alloc, error_set, output_set, store_u8 } from "@extism/as-pdk/lib/env";
import { Json } from "./json";

/** What a policy returns: the same four keys as a Rego policy's `result` object. */
export class Result {
  violations: string[] = [];
  skipped: bool = false;
  skip_reason: string = "";
  ignore: bool = false;

  /** A skipped result with its reason (no violations). */
  static skip(reason: string): Result {
    const r = new Result();
    r.skipped = true;
    r.skip_reason = reason;
    return r;
  }
}

/** The input document (the Extism input), read lazily (see json.ts). */
export function readInput(): Json {
  return Json.parse(Host.input());
}

/** The arguments object (Extism config `args`); an empty object when the attachment gives none. */
export function readArgs(): Json {
  const text = Config.get("args");
  const args = Json.parseString(text === null ? "{}" : text);
  if (!args.isObject) fail("config key args is not a JSON object");
  return args;
}

/** Write the result with output_set (the JSON text, encoded as UTF-8). */
export function writeResult(result: Result): void {
  const parts = new Array<string>(result.violations.length);
  for (let i = 0; i < result.violations.length; i++) parts[i] = quote(result.violations[i]);
  const text =
    '{"violations":[' +
    parts.join(",") +
    '],"skipped":' +
    (result.skipped ? "true" : "false") +
    ',"skip_reason":' +
    quote(result.skip_reason) +
    ',"ignore":' +
    (result.ignore ? "true" : "false") +
    "}";
  writeOutput(text);
}

function writeOutput(text: string): void {
  // Not Host.outputString: it passes the UTF-16 length as the byte length, which cuts non-ASCII text.
  const bytes = Uint8Array.wrap(String.UTF8.encode(text));
  const offset = alloc(<u64>bytes.length);
  for (let i = 0; i < bytes.length; i++) store_u8(offset + <u64>i, bytes[i]);
  output_set(offset, <u64>bytes.length);
}

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(start, i);
    start = i + 1;
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c == 0x08) out += "\\b";
    else if (c == 0x0c) out += "\\f";
    else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
  }
  return out + s.substring(start) + '"';
}

/** Stop the evaluation with an error the host reports (Extism error_set, then a trap). */
export function fail(message: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(message));
  const offset = alloc(<u64>bytes.length);
  for (let i = 0; i < bytes.length; i++) store_u8(offset + <u64>i, bytes[i]);
  error_set(offset);
  unreachable();
}

/** The `abort` of the module (asc `--use abort=...`): an assertion or a runtime error ends the evaluation. */
export function policyAbort(
  message: string | null,
  fileName: string | null,
  lineNumber: u32,
  columnNumber: u32,
): void {
  let text = "policy aborted: " + (message === null ? "(no message)" : message);
  if (fileName !== null) text += " at " + fileName + ":" + lineNumber.toString() + ":" + columnNumber.toString();
  fail(text);
}
