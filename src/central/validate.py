"""Check a deployment manifest or template before it reaches a device.

Two layers. The JSON schemas editors and iotedgedev use (copied into
`central/schemas`, `$ref`s resolved offline) catch the shape: a misspelt
restartPolicy, a missing image. What they cannot see is checked here too: every
route compiles with the edgeHub route grammar, every module a route names
exists, createOptions is JSON within edgeAgent's 8 x 512 characters, env names
are usable, and no `${...}` or `$VAR` survived expansion.

Every problem names the place as a JSON pointer (`/modulesContent/$edgeHub/...`,
keys such as `properties.desired` keep their dots) and says what to change.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import exceptions, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from central.genconfig import CREATE_OPTIONS_CHUNK, CREATE_OPTIONS_MAX_CHUNKS
from central.routing import ModuleInput, Route, RouteSyntaxError, parse_route

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_BASE = "https://json.schemastore.org/"
MANIFEST_SCHEMA = "azure-iot-edge-deployment-2.0.json"
TEMPLATE_SCHEMA = "azure-iot-edge-deployment-template-4.0.json"
AGENT_SCHEMAS = {"1.0": "azure-iot-edgeagent-deployment-1.0.json", "1.1": "azure-iot-edgeagent-deployment-1.1.json"}
HUB_SCHEMAS = {
    "1.0": "azure-iot-edgehub-deployment-1.0.json",
    "1.1": "azure-iot-edgehub-deployment-1.1.json",
    "1.2": "azure-iot-edgehub-deployment-1.2.json",
}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SOURCE_MODULE = re.compile(r"/messages/modules/([^/]+)/", re.IGNORECASE)
_CHUNK_KEY = re.compile(r"createOptions(\d*)")
_BRACED = re.compile(r"\$\{[^}]*\}")
_BARE = re.compile(r"\$[A-Za-z_]\w*", re.ASCII)
_SCHEMA_HINTS = {
    "required": "add it",
    "enum": "use one of the listed values",
    "additionalProperties": "remove it or correct its spelling",
    "type": "change the value to that type",
    "pattern": "change the value to match",
    "minimum": "use a larger value",
    "maximum": "use a smaller value",
}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (a JSON pointer) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


def pointer(*parts: object) -> str:
    """A JSON pointer (RFC 6901) to `parts`: `~` and `/` inside keys are escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# --- JSON schemas -----------------------------------------------------------------------------


@cache
def _registry() -> Registry:
    """Every bundled schema under its schemastore URL, so relative `$ref`s resolve offline."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((SCHEMA_BASE + path.name, Resource.from_contents(contents, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def _schema_problems(instance: Any, schema_name: str, prefix: tuple[object, ...] = ()) -> list[Problem]:
    schema = _registry().contents(SCHEMA_BASE + schema_name)
    validator = validators.validator_for(schema)(schema, registry=_registry())
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        best = _closest_alternative(error)
        hint = _SCHEMA_HINTS.get(str(best.validator), f"see {schema_name}")
        problems.append(Problem(pointer(*prefix, *best.absolute_path), f"{best.message}; {hint}"))
    return problems


def _closest_alternative(error: exceptions.ValidationError) -> exceptions.ValidationError:
    """For anyOf (a route is a string or an object), the error of the alternative of the value's own type."""
    if not error.context:
        return error
    same_type = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
    return exceptions.best_match(same_type or error.context) or error


def _versioned_schema_problems(content: Mapping[str, Any], twin: str, schemas: Mapping[str, str]) -> list[Problem]:
    """Check `$edgeAgent` / `$edgeHub` against the schema of the version it declares."""
    version = _desired(content, twin).get("schemaVersion")
    if not isinstance(version, str):
        return []  # the manifest schema reports a missing or mistyped schemaVersion
    if version not in schemas:
        where = pointer("modulesContent", twin, "properties.desired", "schemaVersion")
        return [Problem(where, f"schemaVersion {version!r} is unknown; use one of {', '.join(schemas)}")]
    return _schema_problems({twin: content[twin]}, schemas[version], ("modulesContent",))


# --- what the schemas cannot see -----------------------------------------------------------------


def _desired(content: Mapping[str, Any], twin: str) -> Mapping[str, Any]:
    node = content.get(twin)
    desired = node.get("properties.desired") if isinstance(node, dict) else None
    return desired if isinstance(desired, dict) else {}


def _module_entries(content: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(group, name, entry) for every system and user module of `$edgeAgent`."""
    agent = _desired(content, "$edgeAgent")
    for group in ("systemModules", "modules"):
        modules = agent.get(group)
        if isinstance(modules, dict):
            for name, entry in modules.items():
                if isinstance(entry, dict):
                    yield group, name, entry


def _agent_path(group: str, name: str, *rest: object) -> str:
    return pointer("modulesContent", "$edgeAgent", "properties.desired", group, name, *rest)


def _route_modules(route: Route) -> list[tuple[str, bool]]:
    """(module, matched case-insensitively) for the module a route reads from and the one it delivers to."""
    named = []
    source = _SOURCE_MODULE.match(route.source.rstrip("*").rstrip("/") + "/")
    if source:
        named.append((source.group(1), True))
    if isinstance(route.sink, ModuleInput):
        named.append((route.sink.module, False))
    return named


def _route_problems(content: Mapping[str, Any]) -> list[Problem]:
    routes = _desired(content, "$edgeHub").get("routes")
    if not isinstance(routes, dict):
        return []
    known = {name for group, name, _ in _module_entries(content) if group == "modules"}
    problems = []
    for name, spec in routes.items():
        text = spec.get("route") if isinstance(spec, dict) else spec
        if not isinstance(text, str):
            continue  # the schema reports a route that is not text
        where = pointer("modulesContent", "$edgeHub", "properties.desired", "routes", name)
        where += "/route" if isinstance(spec, dict) else ""
        try:
            route = parse_route(text)
        except RouteSyntaxError as e:
            problems.append(Problem(where, f"the route does not compile: {e}"))
            continue
        for module, any_case in _route_modules(route):
            candidates = {k.lower() for k in known} if any_case else known
            if (module.lower() if any_case else module) not in candidates:
                problems.append(Problem(where, _unknown_module(module, known)))
    return problems


def _unknown_module(module: str, known: set[str]) -> str:
    close = difflib.get_close_matches(module, sorted(known), n=1)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(sorted(known)) or "none"
    return (
        f"the route names module {module!r}, which $edgeAgent does not run (modules: {listed}); "
        f"{suggestion}correct the route or add the module"
    )


def _create_options_chunks(group: str, name: str, settings: Mapping[str, Any]) -> tuple[str | None, list[Problem]]:
    """The createOptions text of a generated manifest, re-joined from its pieces, and what is wrong with them."""
    numbers = sorted(int(m.group(1) or 0) for key in settings if (m := _CHUNK_KEY.fullmatch(key)))
    if not numbers:
        return None, []
    problems = []
    if numbers != list(range(len(numbers))):
        expected = ", ".join(["createOptions"] + [f"createOptions{i:02d}" for i in range(1, len(numbers))])
        problems.append(
            Problem(_agent_path(group, name, "settings"), f"createOptions pieces must be consecutive: {expected}")
        )
    if len(numbers) > CREATE_OPTIONS_MAX_CHUNKS:
        problems.append(
            Problem(
                _agent_path(group, name, "settings"),
                f"{len(numbers)} createOptions pieces; edgeAgent reads at most {CREATE_OPTIONS_MAX_CHUNKS}, "
                "so remove options",
            )
        )
    pieces = []
    for number in numbers:
        key = "createOptions" if number == 0 else f"createOptions{number:02d}"
        piece = settings[key]
        if not isinstance(piece, str):
            return None, problems  # the schema reports a piece that is not text
        if len(piece) > CREATE_OPTIONS_CHUNK:
            problems.append(
                Problem(
                    _agent_path(group, name, "settings", key),
                    f"{len(piece)} characters, more than {CREATE_OPTIONS_CHUNK}; split it into createOptions01, "
                    "createOptions02, ... (central genconfig does this)",
                )
            )
        pieces.append(piece)
    return "".join(pieces), problems


def _create_options_problems(content: Mapping[str, Any], *, template: bool) -> list[Problem]:
    problems = []
    for group, name, entry in _module_entries(content):
        settings = entry.get("settings")
        if not isinstance(settings, dict):
            continue
        options = settings.get("createOptions")
        if template and isinstance(options, dict | list):
            text: str | None = json.dumps(options, separators=(",", ":"))
            if len(text) > CREATE_OPTIONS_CHUNK * CREATE_OPTIONS_MAX_CHUNKS:
                problems.append(
                    Problem(
                        _agent_path(group, name, "settings", "createOptions"),
                        f"{len(text)} characters once minified, more than edgeAgent's "
                        f"{CREATE_OPTIONS_MAX_CHUNKS} x {CREATE_OPTIONS_CHUNK}; remove options",
                    )
                )
        else:
            text, chunk_problems = _create_options_chunks(group, name, settings)
            problems += chunk_problems
        if text is not None:
            problems += _create_options_json_problems(group, name, text)
    return problems


def _create_options_json_problems(group: str, name: str, text: str) -> list[Problem]:
    where = _agent_path(group, name, "settings", "createOptions")
    try:
        options = json.loads(text)
    except json.JSONDecodeError as e:
        return [Problem(where, f"createOptions is not valid JSON ({e.msg} at character {e.pos}); fix the JSON text")]
    if not isinstance(options, dict):
        return [Problem(where, 'createOptions must be a JSON object, such as {"HostConfig": {...}}')]
    return []


def _env_problems(content: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for group, name, entry in _module_entries(content):
        env = entry.get("env")
        for variable in env if isinstance(env, dict) else ():
            if not _ENV_NAME.fullmatch(variable):
                problems.append(
                    Problem(
                        _agent_path(group, name, "env", variable),
                        f"{variable!r} is not a usable environment variable name; use letters, digits and _, "
                        "not starting with a digit",
                    )
                )
    return problems


def _strings(node: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], str, bool]]:
    """Every key and string value in a JSON document: (path, text, is it a key). A key's path is its own."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), key, True
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
    elif isinstance(node, str):
        yield path, node, False


def _is_route_text(path: tuple[object, ...]) -> bool:
    return path[:4] == ("modulesContent", "$edgeHub", "properties.desired", "routes") and len(path) >= 5


def _placeholder_problems(manifest: Mapping[str, Any]) -> list[Problem]:
    """`${...}` anywhere, and `$VAR` outside keys and route text (where `$upstream`, `$body` belong)."""
    problems = []
    for path, text, is_key in _strings(manifest):
        leftovers = _BRACED.findall(text)
        if not is_key and not _is_route_text(path):
            leftovers += _BARE.findall(_BRACED.sub("", text))
        for leftover in dict.fromkeys(leftovers):
            problems.append(Problem(pointer(*path), _placeholder_hint(leftover)))
    return problems


def _placeholder_hint(leftover: str) -> str:
    name = leftover.strip("${}")
    if name.startswith(("MODULES.", "MODULEDIR<")):
        return (
            f"image placeholder {leftover} was not expanded: modules/<name>/module.json must exist and list "
            "this platform; generate the manifest with central genconfig -P <platform>"
        )
    return f"unexpanded variable {leftover}: define {name} in .env (or the environment) and run central genconfig again"


# --- entry points ----------------------------------------------------------------------------------


def is_template(document: Any) -> bool:
    return isinstance(document, dict) and "$schema-template" in document


def validate_document(document: Any) -> list[Problem]:
    """Every problem in a manifest (or, with `$schema-template`, a template)."""
    template = is_template(document)
    problems = _schema_problems(document, TEMPLATE_SCHEMA if template else MANIFEST_SCHEMA)
    content = document.get("modulesContent") if isinstance(document, dict) else None
    if not isinstance(content, dict):
        return problems
    if not template:
        problems += _versioned_schema_problems(content, "$edgeAgent", AGENT_SCHEMAS)
        problems += _versioned_schema_problems(content, "$edgeHub", HUB_SCHEMAS)
        problems += _placeholder_problems(document)
    problems += _route_problems(content)
    problems += _create_options_problems(content, template=template)
    problems += _env_problems(content)
    return list(dict.fromkeys(problems))


def validate_file(path: Path) -> list[Problem]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        return [Problem("", f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")]
    except UnicodeDecodeError as e:
        return [Problem("", f"not UTF-8 text (byte {e.start}); save the file as UTF-8")]
    return validate_document(document)
