"""Policy arguments: from an attachment's ``with`` to what an engine receives (reference section 2.5).

Three steps, each an exact port of Chainloop's:

1. :func:`compute_arguments` (``ComputeArguments``): match ``with`` against the policy's declared inputs,
   apply defaults, check required inputs, render ``{{ inputs.x }}`` templates with the group's arguments.
2. :func:`apply_runtime_inputs`: ``--policy-input NAME=VALUE`` replaces a value for one command.
3. :func:`engine_args` (``getInputArguments``): split each value on newlines and unescaped commas; one value
   is passed as a string, several as a list.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from crafter._internal.policies.spec import PolicyInput
from crafter.errors import PolicyError

log = logging.getLogger("crafter.policies")

# Go's unicode.IsSpace, which strings.TrimSpace uses: Python's str.strip() would also remove the ASCII
# information separators \x1c-\x1f, which Go keeps.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
# Chainloop rewrites "{{ inputs." to "{{ .inputs." before handing the text to Go's text/template.
_INPUTS_PREFIX = re.compile(r"{{\s*(inputs.)")
_ACTION = re.compile(r"{{(.*?)}}", re.DOTALL)
_INPUT_REF = re.compile(r"\.inputs\.([A-Za-z_][A-Za-z0-9_]*)")
_ESCAPED_COMMA = "\\,"
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


class TemplateError(ValueError):
    """A template that crafter cannot render (the caller names the policy and the input)."""


def render_template(text: str, bindings: Mapping[str, str] | None) -> str:
    """Render ``{{ inputs.x }}`` / ``{{ .inputs.x }}`` placeholders like Chainloop's ``templates.ApplyBinding``.

    Chainloop runs Go's ``text/template`` with ``missingkey=zero``: a missing binding renders as "". The part
    of that language supported here is what Chainloop documents: input references, Go's ``{{-``/``-}}``
    whitespace trimming and ``{{/* comments */}}``; any other action is an error rather than a silent guess.
    """
    if "{{" not in text:
        return text
    text = _INPUTS_PREFIX.sub("{{ .inputs.", text)
    values = bindings or {}
    out: list[str] = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(text):
        literal = text[pos : m.start()]
        if trim_next:
            literal = literal.lstrip(_GO_SPACE)
        body = m.group(1)
        if body[:2] in ("- ", "-\t", "-\n", "-\r"):  # "{{- " trims the space before the action
            literal = literal.rstrip(_GO_SPACE)
            body = body[1:]
        trim_next = body[-2:] in (" -", "\t-", "\n-", "\r-")
        if trim_next:
            body = body[:-1]
        out.append(literal)
        out.append(_action_value(body.strip(_GO_SPACE), values))
        pos = m.end()
    rest = text[pos:]
    if "{{" in rest:
        raise TemplateError("unclosed action: '{{' without '}}'")
    out.append(rest.lstrip(_GO_SPACE) if trim_next else rest)
    return "".join(out)


def _action_value(body: str, bindings: Mapping[str, str]) -> str:
    if body.startswith("/*") and body.endswith("*/"):
        return ""
    m = _INPUT_REF.fullmatch(body)
    if m is None:
        raise TemplateError(f"unsupported template {{{{ {body} }}}}: only {{{{ inputs.NAME }}}} is supported")
    return bindings.get(m.group(1), "")


def _render(value: str, bindings: Mapping[str, str] | None, policy_name: str, key: str) -> str:
    try:
        return render_template(value, bindings)
    except TemplateError as exc:
        raise PolicyError(f'policy "{policy_name}": input "{key}": {exc}') from None


def compute_arguments(
    policy_name: str,
    inputs: Sequence[PolicyInput],
    given: Mapping[str, str],
    bindings: Mapping[str, str] | None,
) -> dict[str, str]:
    """The arguments a policy is evaluated with (Chainloop's ``ComputeArguments``, also used for group args).

    With no declared inputs, ``given`` is passed unchanged (no templating): Chainloop keeps this for policies
    written before inputs existed.
    """
    if not inputs:
        for key in given:
            log.debug("argument %r passed as is: policy %r declares no inputs", key, policy_name)
        return dict(given)
    result: dict[str, str] = {}
    for spec in inputs:
        if spec.required and spec.default:
            raise PolicyError(f"input {spec.name} can not be required and have a default at the same time")
        raw = given.get(spec.name, "")
        value = _render(raw, bindings, policy_name, spec.name) if raw else ""
        if value:
            continue  # set below, with every other given argument
        if spec.required:
            raise PolicyError(f'missing required input "{spec.name}" for policy "{policy_name}"')
        if spec.default:
            result[spec.name] = _render(spec.default, bindings, policy_name, spec.name)
    declared = {spec.name for spec in inputs}
    for key, raw in given.items():
        if key not in declared:
            log.warning("argument %r not defined in policy %r spec, ignoring it", key, policy_name)
            continue
        # An explicitly empty value replaces the default with "" (engine_args then drops it): as in Chainloop.
        result[key] = _render(raw, bindings, policy_name, key)
    return result


def apply_runtime_inputs(
    computed: Mapping[str, str],
    runtime: Mapping[str, str],
    *,
    inputs: Sequence[PolicyInput] | None = None,
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Apply ``--policy-input NAME=VALUE`` overrides; returns the new arguments and the sorted names overridden.

    Chainloop merges runtime inputs into ``with`` before :func:`compute_arguments`, which drops the names a
    policy does not declare. Here they are applied afterwards, so the same filter is applied here: given the
    policy's ``inputs``, a value applies when the policy declares that input (or declares none at all, where
    every argument passes); without them, only to arguments already present.
    """
    if inputs is None:
        accepted = set(computed)
    elif inputs:
        accepted = {spec.name for spec in inputs}
    else:
        accepted = set(runtime)
    result = dict(computed)
    overridden = []
    for name, value in runtime.items():
        if name in accepted:
            result[name] = value
            overridden.append(name)
    return result, tuple(sorted(overridden))


def interpolate_group_material_name(name: str, bindings: Mapping[str, str]) -> str:
    """A group material's name with the group's arguments rendered (``InterpolateGroupMaterial``)."""
    try:
        return render_template(name, bindings)
    except TemplateError as exc:
        raise PolicyError(f"group material name {name!r}: {exc}") from None


def engine_args(computed: Mapping[str, str]) -> dict[str, str | list[str]]:
    """Arguments as engines receive them (Chainloop's ``getInputArguments``).

    Each value: trailing newlines removed, split on newlines, each line split on unescaped commas (``\\,`` is
    a literal comma; other backslashes are kept), trimmed, empty parts dropped. No part: the key is omitted;
    one part: a string; several: a list.
    """
    out: dict[str, str | list[str]] = {}
    for key, value in computed.items():
        parts = [part for line in value.rstrip("\n").split("\n") for part in _split_args(line)]
        if len(parts) == 1:
            out[key] = parts[0]
        elif parts:
            out[key] = parts
    return out


def _split_args(line: str) -> list[str]:
    """Split one line on commas not preceded by a backslash; trim; drop empty parts (``splitArgs``)."""
    # Splitting at commas without a backslash before them, then unescaping, is what Go's placeholder swap
    # does, without a placeholder that the text itself could contain.
    pieces = [p.replace(_ESCAPED_COMMA, ",") for p in _UNESCAPED_COMMA.split(line)]
    return [t for t in (p.strip(_GO_SPACE) for p in pieces) if t]
