// __POLICY_NAME__: no component of the CycloneDX SBOM is named in the `denied` input.
//
// The contract (docs/policies/wasm-authoring.md): the Extism input is the material's JSON document, the same a
// Rego policy gets as `input`; the arguments are the Extism config key `args`, a JSON object whose values are
// strings, or lists of strings when an input was given comma-separated; the result goes out with output_set.
// src/lib/policy.ts does the reading and writing. Build with ./build.sh, then run the cases in tests/ with
// `crafter policy test .`.

import { JSON } from "assemblyscript-json/assembly";
import { Result, readArgs, readInput, writeResult } from "./lib/policy";

export function Execute(): i32 {
  writeResult(evaluate(readInput(), readArgs()));
  return 0;
}

function evaluate(input: JSON.Value, args: JSON.Obj): Result {
  const doc = <JSON.Obj>input; // the input document is always a JSON object
  const format = doc.getString("bomFormat");
  if (format === null || format.valueOf() != "CycloneDX") {
    return Result.skip("the material is not a CycloneDX SBOM");
  }
  const components = doc.getArr("components");
  if (components === null || components.valueOf().length == 0) {
    return Result.skip("the SBOM lists no components");
  }

  const denied = stringList(args.get("denied"));
  const result = new Result();
  const items = components.valueOf();
  for (let i = 0; i < items.length; i++) {
    if (!items[i].isObj) continue;
    const name = (<JSON.Obj>items[i]).getString("name");
    if (name !== null && denied.includes(name.valueOf())) {
      result.violations.push("component " + name.valueOf() + " is denied");
    }
  }
  return result;
}

/** An argument's values: one string, or the strings of a list; none when the argument is absent. */
function stringList(value: JSON.Value | null): string[] {
  const out = new Array<string>();
  if (value === null) return out;
  if (value.isString) out.push((<JSON.Str>value).valueOf());
  if (value.isArr) {
    const items = (<JSON.Arr>value).valueOf();
    for (let i = 0; i < items.length; i++) {
      if (items[i].isString) out.push((<JSON.Str>items[i]).valueOf());
    }
  }
  return out;
}
