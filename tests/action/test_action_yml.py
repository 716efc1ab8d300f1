"""action.yml's shape: composite, no input interpolated into shell code, every input used, every output set."""

from __future__ import annotations

import re

import yaml

from tests.action.conftest import ROOT

ACTION_TEXT = (ROOT / "action.yml").read_text()
ACTION = yaml.safe_load(ACTION_TEXT)
SOURCES = "\n".join(
    p.read_text()
    for p in [
        ROOT / "action" / "install.sh",
        ROOT / "action" / "run.sh",
        *(ROOT / "crafter" / "_internal" / "cli").glob("action*.py"),
    ]
)


def test_action_is_composite_and_its_scripts_exist() -> None:
    assert ACTION["runs"]["using"] == "composite"
    install, run = ACTION["runs"]["steps"]
    for step, script in ((install, "install.sh"), (run, "run.sh")):
        assert step["shell"] == "bash"
        assert step["run"] == f'bash "$CRAFTER_ACTION_PATH/action/{script}"'
        assert step["env"]["CRAFTER_ACTION_PATH"] == "${{ github.action_path }}"
        assert (ROOT / "action" / script).is_file()
    assert run["id"] == "run"


def test_no_expression_inside_shell_code() -> None:
    # ${{ inputs.x }} inside `run:` would be script injection; inputs reach scripts through `env:`.
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step["run"], step["name"]


def test_every_input_reaches_a_script_that_reads_it() -> None:
    env = {k: v for step in ACTION["runs"]["steps"] for k, v in step["env"].items()}
    passed = {
        m.group(1): name
        for name, value in env.items()
        if (m := re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", value))
    }
    assert set(passed) == set(ACTION["inputs"])
    for input_name, variable in passed.items():
        # install.sh reads CRAFTER_ACTION_*; the run step INPUT_<NAME> (dashes as underscores).
        if variable.startswith("INPUT_"):
            assert variable == "INPUT_" + input_name.upper().replace("-", "_")
        assert variable in SOURCES, (input_name, variable)
    assert ACTION_TEXT.count("${{ inputs.") == len(ACTION["inputs"]) + 1  # + the run step's name


def test_every_output_is_set_by_the_run_step() -> None:
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert spec["description"]
        assert f'"{name}"' in SOURCES, name
    expected = {"exit-code", "stdout", "stdout-file", "bundle-path", "bundle", "digest", "attestation-id"}
    expected |= {"policy-status", "policy-evaluations", "policy-violations", "policy-gate-failures"}
    assert set(ACTION["outputs"]) == expected


def test_inputs_have_descriptions_and_string_defaults() -> None:
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name
        assert spec.get("required", False) is False, name  # command too: empty means attest
        assert isinstance(spec["default"], str), name
