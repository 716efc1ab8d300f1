// __POLICY_NAME__: no component of the CycloneDX SBOM is named in the `denied` input.
//
// The contract (docs/policies/wasm-authoring.md): the Extism input is the material's JSON document, the same a
// Rego policy gets as `input`; the arguments are the Extism config key `args`, a JSON object whose values are
// strings, or lists of strings when an input was given comma-separated; the result goes out with output_set.
// src/lib/policy.ts does the reading and writing, src/lib/json.ts reads JSON values in place.
// Build with ./build.sh, then run the cases in tests/ with `crafter policy test .`.

import { Json } from "./lib/json";
import { Result, readArgs, readInput, writeResult } from "./lib/policy";

export function Execute(): i32 {
  writeResult(evaluate(readInput(), readArgs()));
  return 0;
}

function evaluate(input: Json, args: Json): Result {
  const format = input.get("bomFormat");
  if (format === null || format.str() != "CycloneDX") {
    return Result.skip("the material is not a CycloneDX SBOM");
  }
  const components = input.get("components");
  const items = components === null || !components.isArray ? new Array<Json>() : components.items();
  if (items.length == 0) {
    return Result.skip("the SBOM lists no components");
  }

  const denied = stringList(args.get("denied"));
  const result = new Result();
  for (let i = 0; i < items.length; i++) {
    const field = items[i].get("name"); // null when the component is not an object or has no name
    const name: string | null = field === null ? null : field.str(); // null unless it is a string
    if (name !== null && denied.includes(name)) {
      result.violations.push("component " + name + " is denied");
    }
  }
  return result;
}

/** An argument's values: one string, or the strings of a list; none when the argument is absent. */
function stringList(value: Json | null): string[] {
  const out = new Array<string>();
  if (value === null) return out;
  const one = value.str();
  if (one !== null) out.push(one);
  if (value.isArray) {
    const items = value.items();
    for (let i = 0; i < items.length; i++) {
      const s = items[i].str();
      if (s !== null) out.push(s);
    }
  }
  return out;
}
