// junit-all-passed, WASM version: the same answers as policies/junit-all-passed/policy.rego.
//
// No test case failed or errored, and at least `min_tests` test cases ran. The input is crafter's JUnit
// projection: `elements` is the list of suites, each with `tests`, `failures`, `errors`, `skipped` (counts that
// include nested suites), `testcases` ({name, classname, status, message}) and nested `suites`. Skipped test
// cases are neither failures nor runs. Failing test cases are named one by one down to suites nested four
// levels deep; deeper ones are counted in one violation. A report without any test case is a violation unless
// `min_tests` is 0, in which case it is skipped.

import { Json } from "./lib/json";
import { Result, readArgs, readInput, writeResult } from "./lib/policy";
import { field, formatArg, formatInt, isArray, isNumber, members, num, str } from "./lib/rego";

const NOT_JUNIT = "the material is not a JUnit report (input.elements is not a list of test suites)";
const NO_TEST_CASE = "the JUnit report contains no test case";

export function Execute(): i32 {
  writeResult(evaluate(readInput(), readArgs()));
  return 0;
}

function evaluate(input: Json, args: Json): Result {
  const elements = field(input, "elements");
  if (!isJunit(elements)) return Result.skip(NOT_JUNIT);
  const suites = members(elements);

  let total: f64 = 0;
  let notRun: f64 = 0;
  let failed: f64 = 0;
  for (let i = 0; i < suites.length; i++) {
    const s = suites[i];
    total += num(field(s, "tests"));
    const skipped = field(s, "skipped");
    if (isNumber(skipped)) notRun += num(skipped);
    const failures = field(s, "failures");
    const errors = field(s, "errors");
    if (isNumber(failures) && isNumber(errors)) failed += num(failures) + num(errors);
  }

  const given = args.get("min_tests");
  const minArg: Json = given === null ? Json.parseString('"1"') : given;
  const minTests = wholeNumber(minArg); // -1: not a whole number (undefined in Rego)
  // Rego's valid_input: tests ran, or the minimum is not 0, or the minimum is not a whole number.
  if (minTests >= 0 && (total < 0 || (total == 0 && minTests == 0))) {
    return Result.skip(total == 0 ? NO_TEST_CASE : "");
  }

  const result = new Result();
  if (minTests < 0) result.violations.push("input min_tests must be a whole number, got " + formatArg(minArg));

  // Test cases down to suites nested four levels deep.
  let level = suites;
  let failing = 0;
  for (let depth = 1; depth <= 4; depth++) {
    for (let i = 0; i < level.length; i++) {
      const cases = members(field(level[i], "testcases"));
      for (let j = 0; j < cases.length; j++) {
        const c = cases[j];
        const status = str(field(c, "status"));
        if (status === null || (status != "failed" && status != "error")) continue;
        failing++;
        const text = failureMessage(c, status);
        if (text !== null) result.violations.push(text);
      }
    }
    if (depth < 4) level = nextLevel(level);
  }

  if (failed > <f64>failing) {
    result.violations.push("failed tests in suites nested deeper than four levels: " + formatInt(failed - <f64>failing));
  }
  if (minTests >= 0 && total - notRun < <f64>minTests) {
    result.violations.push(
      "test cases run: " +
        formatInt(total - notRun) +
        " (skipped ones not counted), at least " +
        minTests.toString() +
        " required",
    );
  }
  return result;
}

/** `input.elements` is a list of suites, each with a `testcases` list and a number of `tests`. */
function isJunit(elements: Json | null): bool {
  if (!isArray(elements)) return false;
  const suites = members(elements);
  for (let i = 0; i < suites.length; i++) {
    if (!isArray(field(suites[i], "testcases")) || !isNumber(field(suites[i], "tests"))) return false;
  }
  return true;
}

/** The suites nested in the suites of `level`. */
function nextLevel(level: Json[]): Json[] {
  const out = new Array<Json>();
  for (let i = 0; i < level.length; i++) {
    const nested = members(field(level[i], "suites"));
    for (let j = 0; j < nested.length; j++) out.push(nested[j]);
  }
  return out;
}

/** A whole number from its decimal text (at most nine digits, or only zeros), else -1. */
function wholeNumber(v: Json): i32 {
  const s = str(v);
  if (s === null || s.length == 0) return -1;
  let zeros = true;
  let digits = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x30) zeros = false;
    if (c < 0x30 || c > 0x39) digits = false;
  }
  if (zeros) return 0;
  if (!digits || s.length > 9) return -1;
  return I32.parseInt(s, 10);
}

/** "test NAME failed: FIRST LINE", or null when the test case has no name (the Rego message is undefined). */
function failureMessage(c: Json, status: string): string | null {
  const name = str(field(c, "name"));
  if (name === null) return null;
  const classname = str(field(c, "classname"));
  const testName = classname !== null && classname != "" ? classname + "." + name : name;
  const message = str(field(c, "message"));
  const detail = message !== null && message != "" ? ": " + message.split("\n")[0] : "";
  return "test " + testName + " " + (status == "failed" ? "failed" : "errored") + detail;
}
