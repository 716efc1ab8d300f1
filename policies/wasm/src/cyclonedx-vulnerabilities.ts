// cyclonedx-vulnerabilities, WASM version: the same answers as policies/cyclonedx-vulnerabilities/policy.rego.
//
// No vulnerability in the SBOM's `vulnerabilities` is rated `severity` or above. A vulnerability's severity is
// the highest `ratings[].severity` it has (`unknown` and missing ratings do not count). Vulnerabilities whose
// `analysis.state` says they do not apply are left out. A CycloneDX document without a `vulnerabilities` key is
// no vulnerability report: skipped.

import { Json } from "./lib/json";
import { Result, readArgs, readInput, writeResult } from "./lib/policy";
import { field, formatArg, includes, isArray, lower, members, str } from "./lib/rego";

const NOT_CYCLONEDX = "the material is not a CycloneDX SBOM";
const NO_REPORT = "the SBOM carries no vulnerability report (no vulnerabilities key)";
const LEVEL_NAMES = ["none", "info", "low", "medium", "high", "critical"];
const NOT_APPLICABLE = ["not_affected", "false_positive", "resolved", "resolved_with_pedigree"];

export function Execute(): i32 {
  writeResult(evaluate(readInput(), readArgs()));
  return 0;
}

function evaluate(input: Json, args: Json): Result {
  if (str(field(input, "bomFormat")) != "CycloneDX") return Result.skip(NOT_CYCLONEDX);
  const vulnerabilities = field(input, "vulnerabilities");
  if (!isArray(vulnerabilities)) return Result.skip(NO_REPORT);

  const result = new Result();
  const given = args.get("severity");
  const severity: Json = given === null ? Json.parseString('"high"') : given;
  const threshold = level(severity);
  if (threshold < 0) {
    result.violations.push(
      "input severity must be one of none, info, low, medium, high, critical, got " + formatArg(severity),
    );
    return result;
  }
  const items = members(vulnerabilities);
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (notApplicable(v)) continue;
    const lvl = highest(v);
    if (lvl >= 0 && lvl >= threshold) result.violations.push(message(v, lvl));
  }
  return result;
}

/** The index of a severity name in LEVEL_NAMES (case ignored), or -1 (undefined in Rego). */
function level(name: Json | null): i32 {
  const s = str(name);
  if (s === null) return -1;
  return LEVEL_NAMES.indexOf(lower(s));
}

/** `object.get(v, ["analysis", "state"], "") in not_applicable`. */
function notApplicable(v: Json): bool {
  const state = str(field(field(v, "analysis"), "state"));
  return state !== null && includes(NOT_APPLICABLE, state);
}

/** The highest known rating of a vulnerability; -1 when it has none. */
function highest(v: Json): i32 {
  const ratings = members(field(v, "ratings"));
  let best = -1;
  for (let i = 0; i < ratings.length; i++) {
    const l = level(field(ratings[i], "severity"));
    if (l > best) best = l;
  }
  return best;
}

function message(v: Json, lvl: i32): string {
  const affects = members(field(v, "affects"));
  const refs = new Array<string>();
  for (let i = 0; i < affects.length; i++) {
    const ref = str(field(affects[i], "ref"));
    if (ref !== null) refs.push(ref);
  }
  const id = str(field(v, "id"));
  const head = (id !== null ? id : "(no id)") + " (" + LEVEL_NAMES[lvl] + ")";
  return refs.length > 0 ? head + " affects " + refs.join(", ") : head;
}
