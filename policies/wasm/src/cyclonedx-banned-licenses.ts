// cyclonedx-banned-licenses, WASM version: the same answers as policies/cyclonedx-banned-licenses/policy.rego.
//
// No component declares a license listed in `licenses`. Each entry of a component's `licenses` is read as its
// `license.id`, else its `license.name`, else the identifiers of its SPDX `expression` (every identifier counts,
// whatever the operator). Comparison ignores case. Components nested one or two levels deep are checked too.
// An SBOM where no component declares a license is skipped.

import { Json } from "./lib/json";
import { Result, readArgs, readInput, writeResult } from "./lib/policy";
import { field, includes, isArray, isFalse, lower, members, str, upper } from "./lib/rego";

const NOT_CYCLONEDX = "the material is not a CycloneDX SBOM";
const NO_LICENSES = "no component of the SBOM declares a license";
const OPERATORS = ["AND", "OR", "WITH"];

export function Execute(): i32 {
  writeResult(evaluate(readInput(), readArgs()));
  return 0;
}

function evaluate(input: Json, args: Json): Result {
  if (str(field(input, "bomFormat")) != "CycloneDX") return Result.skip(NOT_CYCLONEDX);
  const top = members(field(input, "components"));
  const nested = nestedComponents(top);
  if (licensed(top) + licensed(nested) == 0) return Result.skip(NO_LICENSES);

  const banned = bannedLicenses(args);
  const result = new Result();
  if (banned.length == 0) result.violations.push("input licenses must name at least one license");
  bannedIn(top, banned, result.violations);
  bannedIn(nested, banned, result.violations);
  return result;
}

/** Components nested one level deep, then two levels deep. */
function nestedComponents(top: Json[]): Json[] {
  const children = new Array<Json>();
  for (let i = 0; i < top.length; i++) {
    const kids = members(field(top[i], "components"));
    for (let j = 0; j < kids.length; j++) children.push(kids[j]);
  }
  const out = children.slice(0);
  for (let i = 0; i < children.length; i++) {
    const kids = members(field(children[i], "components"));
    for (let j = 0; j < kids.length; j++) out.push(kids[j]);
  }
  return out;
}

/** How many components have a `licenses` list whose first entry is there (`c.licenses[0]`). */
function licensed(components: Json[]): i32 {
  let n = 0;
  for (let i = 0; i < components.length; i++) {
    const licenses = field(components[i], "licenses");
    if (!isArray(licenses)) continue;
    const entries = members(licenses);
    if (entries.length > 0 && !isFalse(entries[0])) n++;
  }
  return n;
}

/** The `licenses` argument, lower-cased: a string, or the strings of a list. */
function bannedLicenses(args: Json): string[] {
  const out = new Array<string>();
  const value = args.get("licenses");
  if (value === null) return out;
  const one = value.str();
  if (one !== null) {
    out.push(lower(one));
  } else if (value.isArray) {
    const items = value.items();
    for (let i = 0; i < items.length; i++) {
      const s = str(items[i]);
      if (s !== null) out.push(lower(s));
    }
  }
  return out;
}

function bannedIn(components: Json[], banned: string[], violations: string[]): void {
  for (let i = 0; i < components.length; i++) {
    const c = components[i];
    const entries = members(field(c, "licenses"));
    for (let j = 0; j < entries.length; j++) {
      const ids = entryIds(entries[j]);
      for (let k = 0; k < ids.length; k++) {
        if (includes(banned, lower(ids[k]))) {
          violations.push("component " + label(c) + " has banned license " + ids[k]);
        }
      }
    }
  }
}

/** The license identifiers of one `licenses` entry. */
function entryIds(entry: Json): string[] {
  const license = field(entry, "license");
  const id = str(field(license, "id"));
  if (id !== null) return [id];
  const name = str(field(license, "name"));
  if (name !== null) return [name];
  const expression = str(field(entry, "expression"));
  if (expression !== null) return expressionIds(expression);
  return [];
}

/** The tokens of an SPDX expression, split on spaces and parentheses, without the operators. */
function expressionIds(expression: string): string[] {
  const tokens = expression.replaceAll("(", " ").replaceAll(")", " ").split(" ");
  const out = new Array<string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t != "" && !includes(OPERATORS, upper(t))) out.push(t);
  }
  return out;
}

function label(c: Json): string {
  const purl = str(field(c, "purl"));
  if (purl !== null) return purl;
  const name = str(field(c, "name"));
  const version = str(field(c, "version"));
  if (name !== null && version !== null) return name + "@" + version;
  if (name !== null) return name;
  return "(unnamed)";
}
