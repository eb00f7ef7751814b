"""Classify one runbook command line by reading it with shlex (it is never run).

The line is split into words and shell operators. Operators that make a command something other
than one program call (command substitution, redirection, pipes into anything but an output
filter, chains of commands) are refused before the program is even looked at. Then the program's
own arguments are read (kubectl, docker-compose, psql, redis-cli, curl: their options and words)
into fields, and the mapping table (bot/guides/mappings.py) says what the line becomes.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.parse
from dataclasses import dataclass, field
from typing import Literal

from bot.guides.mappings import Outcome, Rule, rules_for

SubjectKind = Literal["deployment", "selector", "pod", "compose", "database", "redis", "url", "prometheus", "none"]

# `<namespace>`, `$NAMESPACE`, `${SVC}` → a word shlex keeps whole, read back as a parameter.
_ANGLE = re.compile(r"<([A-Za-z][A-Za-z0-9_-]{0,40})>")
_DOLLAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,40})\}|\$([A-Za-z_][A-Za-z0-9_]{0,40})")
_SENTINEL = re.compile(r"^__param_([a-z0-9_]+)__$")
OUTPUT_FILTERS = frozenset(
    {"grep", "egrep", "head", "tail", "jq", "wc", "sort", "uniq", "less", "more", "cut", "column"}
)
SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "zsh", "ash", "/bin/ash"})
MAX_LINE = 4000

_RESOURCE = {
    "deploy": "deployment",
    "deployments": "deployment",
    "deployment.apps": "deployment",
    "po": "pods",
    "pod": "pods",
    "svc": "service",
    "services": "service",
    "hpa": "hpa",
    "horizontalpodautoscaler": "hpa",
    "horizontalpodautoscalers": "hpa",
    "cm": "configmap",
    "configmaps": "configmap",
    "secrets": "secret",
    "no": "nodes",
    "node": "nodes",
    "ev": "events",
    "event": "events",
    "ep": "endpoints",
    "ing": "ingress",
    "ingresses": "ingress",
}
# kubectl options that take a value (so their value is not read as a word).
_KUBECTL_VALUED = {
    "-n": "namespace", "--namespace": "namespace", "-l": "selector", "--selector": "selector",
    "--replicas": "replicas", "--tail": "tail", "--since": "since", "-c": "container", "--container": "container",
    "--context": "context", "-p": "patch", "--patch": "patch", "--type": "patch_type", "-o": "output",
    "--output": "output", "--timeout": "timeout", "--to-revision": "to_revision", "--sort-by": "sort_by",
    "--image": "image", "--field-selector": "field_selector", "--kubeconfig": "kubeconfig",
}  # fmt: skip
_COMPOSE_GLOBAL = {"-f": "file", "--file": "file", "-p": "project", "--project-name": "project", "--env-file": "env"}


@dataclass(frozen=True)
class Subject:
    """What a command acts on, as the runbook names it; the importer turns it into a catalog service."""

    kind: SubjectKind
    name: str | None = None  # deployment, compose service, label selector, pod, URL or PromQL query
    namespace: str | None = None  # Kubernetes namespace, or the compose project/file
    detail: str | None = None  # the database name (psql -d), the Prometheus base URL
    placeholder: str | None = None  # the runbook's own placeholder for the name (<deployment-name>)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    procedure: str | None = None
    args: str = ""  # rendered template; `{service}` marks where the catalog service goes
    subject: Subject = Subject("none")
    fields: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass
class _Read:
    tool: str
    words: list[str]
    fields: dict[str, str] = field(default_factory=dict)
    subject: Subject = Subject("none")
    notes: list[str] = field(default_factory=list)
    extra: list[_Read] = field(default_factory=list)  # further calls on one line (restart a b)


def _protect(line: str) -> str:
    line = _ANGLE.sub(lambda m: f"__param_{m.group(1).lower().replace('-', '_')}__", line)
    return _DOLLAR.sub(lambda m: f"__param_{(m.group(1) or m.group(2)).lower()}__", line)


def param_name(word: str) -> str | None:
    match = _SENTINEL.match(word)
    return match.group(1) if match else None


def _has_param(text: str) -> bool:
    return "__param_" in text


def restore(text: str) -> str:
    """A protected word back as the runbook wrote its placeholder, for notes."""
    return re.sub(r"__param_([a-z0-9_]+)__", lambda m: f"<{m.group(1)}>", text)


def _scan(line: str) -> list[tuple[str, str]] | str:
    """Split at unquoted `|`, `||`, `&&`, `;`, `&` → (operator before, text); or why the line is refused.

    Quotes and backslashes are followed the way a POSIX shell reads them, so `"(a|b)"` in grep's
    pattern or `\\;` ending a find -exec is data, while a bare `(`, `<` or `>` is shell syntax.
    """
    parts: list[tuple[str, str]] = []
    operator, start, i, quote = "", 0, 0, ""
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1  # the next character is literal, in or out of double quotes
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c in "()":
            return "runs a nested command or subshell ($(…) or ( … ))"
        elif c in "<>":
            return "redirects input or output to a file"
        elif c in "|&;":
            parts.append((operator, line[start:i]))
            operator = c + line[i + 1] if line[i + 1 : i + 2] in ("|", "&") and c != ";" else c
            i += len(operator)
            start = i
            continue
        i += 1
    if quote:
        return "a quote is never closed; the line cannot be read"
    parts.append((operator, line[start:]))
    return parts


def classify(line: str) -> list[Verdict]:
    """One runbook line → what it becomes (one verdict per call it makes; never runs anything)."""
    if len(line) > MAX_LINE:
        return [Verdict("unsafe", f"longer than {MAX_LINE} characters; not read")]
    if "`" in line or "$(" in line:
        return [Verdict("unsafe", "runs a nested command ($(…) or backquotes)")]
    scanned = _scan(_protect(line))
    if isinstance(scanned, str):
        outcome: Outcome = "no_action" if "quote" in scanned else "unsafe"
        return [Verdict(outcome, scanned)]
    try:
        segments = [(operator, shlex.split(text)) for operator, text in scanned]
    except ValueError:
        return [Verdict("no_action", "a quote is never closed; the line cannot be read")]
    main = segments[0][1]
    notes: list[str] = []
    for operator, words in segments[1:]:
        program = words[0] if words else ""
        if operator == "|" and program in OUTPUT_FILTERS:
            notes.append(f"output filter `| {' '.join(restore(w) for w in words)}` left out: the bot shows the output")
        elif operator == "|":
            return [Verdict("unsafe", f"pipes output into `{restore(program) or '?'}`, which acts on it")]
        elif operator == "||" and program == "echo":
            notes.append("the `|| echo …` fallback message is left out")
        elif operator == "&" and not words:
            return [Verdict("unsafe", "runs in the background")]
        else:
            return [Verdict("no_action", f"several commands joined by `{operator}`; split them into steps")]
    if not main:
        return [Verdict("no_action", "no command on this line")]
    read = _read(main)
    return [_verdict(r, notes) for r in [read, *read.extra]]


def _read(words: list[str]) -> _Read:
    program = words[0]
    rest = words[1:]
    if program == "kubectl":
        return _read_kubectl(rest)
    if program == "docker-compose" or (program == "docker" and rest[:1] == ["compose"]):
        return _read_compose(rest[1:] if program == "docker" else rest)
    if program == "docker":
        return _Read("docker", rest)
    if program == "psql":
        return _read_psql(rest, Subject("database"))
    if program == "redis-cli":
        return _read_redis(rest, Subject("redis"))
    if program == "pg_isready":
        return _Read("pg_isready", [], subject=Subject("database"))
    if program == "curl":
        return _read_curl(rest)
    if program == "echo":
        return _Read("echo", ["variable"] if any(_has_param(w) for w in rest) else [])
    if program == "find":
        return _Read("find", ["delete"] if {"-delete", "-exec", "-execdir"} & set(rest) else [])
    if program in ("python", "python3"):
        return _Read("python", rest)
    if program.startswith(("./", "/", "~/")) or program.endswith((".sh", ".py")):
        return _Read("script", rest)
    return _Read(program, rest)


def _words(args: list[str], valued: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and options (`--x=v`, `-x v` for options that take a value, flags as "true")."""
    words: list[str] = []
    fields: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            fields["--"] = shlex.join(args[i:])
            break
        if arg.startswith("-") and "=" in arg and arg.split("=", 1)[0] in valued:
            key, value = arg.split("=", 1)
            fields[valued[key]] = value
        elif arg in valued and i < len(args):
            fields[valued[arg]] = args[i]
            i += 1
        elif arg.startswith("-"):
            fields[arg.lstrip("-")] = "true"
        else:
            words.append(arg)
    return words, fields


def _kube_words(positional: list[str]) -> list[str]:
    """`deploy/x` → `deployment x`; kinds and their short names → one spelling."""
    out: list[str] = []
    for word in positional:
        kind, slash, name = word.partition("/")
        if slash and len(out) <= 2 and (kind in _RESOURCE or kind in _RESOURCE.values()):
            out += [_RESOURCE.get(kind, kind), name]
        else:
            out.append(_RESOURCE.get(word, word) if len(out) in (1, 2) else word)
    return out


def _read_kubectl(args: list[str]) -> _Read:
    valued = dict(_KUBECTL_VALUED)
    follow = args[:1] == ["logs"] and "-f" in args  # -f is --follow for logs, --filename elsewhere
    if follow:
        args = [a for a in args if a != "-f"]
    else:
        valued["-f"] = "filename"
    positional, fields = _words(args, valued)
    if follow:
        fields["follow"] = "true"
    words = _kube_words(positional)
    # `get pods,services` and the like: the first kind decides
    if len(words) > 1 and "," in words[1]:
        words[1] = _RESOURCE.get(words[1].split(",")[0], words[1].split(",")[0])
    notes: list[str] = []
    namespace = fields.get("namespace")
    verb = words[0] if words else ""
    if verb == "exec":
        return _read_exec(words, fields, namespace)
    if verb in ("scale", "rollout", "set", "patch", "describe", "get", "delete", "top", "logs"):
        name_index = 3 if verb in ("rollout", "set") else 2
        if verb == "logs":
            name_index = 1
            if len(words) > 2 and words[1] == "deployment":
                name_index = 2
        name = words[name_index] if len(words) > name_index else None
        if verb == "logs" and name is not None and len(words) == 2 and words[1] != "deployment":
            # `kubectl logs POD`: one pod of some deployment
            words = ["logs", "pods", name]
        subject = _kube_subject(words, name, fields, namespace)
        if fields.get("follow") == "true" or fields.get("w") == "true" or fields.get("watch") == "true":
            notes.append("following (-f/-w) left out: the bot answers once")
        if verb == "set" and len(words) > 1 and words[1] == "env":
            _env_fields(positional, fields)
        if verb == "patch" and "patch" in fields:
            _patch_fields(fields["patch"], fields)
        return _Read("kubectl", words, fields, subject, notes)
    return _Read("kubectl", words, fields, Subject("none"), notes)


def _kube_subject(words: list[str], name: str | None, fields: dict[str, str], namespace: str | None) -> Subject:
    if "selector" in fields:
        return Subject("selector", fields["selector"], namespace)
    if name is None:
        return Subject("selector", None, namespace)
    placeholder = param_name(name)
    kind: SubjectKind = "deployment" if "deployment" in words[1:3] or words[0] == "scale" else "pod"
    if words[:2] in (["patch", "hpa"], ["patch", "configmap"]):
        kind = "selector"  # the HPA or ConfigMap of some service: which one is the reviewer's call
        return Subject(kind, None, namespace, detail=name)
    if placeholder is not None:
        return Subject(kind, None, namespace, placeholder=placeholder)
    return Subject(kind, name, namespace)


def _env_fields(positional: list[str], fields: dict[str, str]) -> None:
    assignments = [w for w in positional if "=" in w and not w.startswith("-")]
    if len(assignments) != 1:
        return
    variable, value = assignments[0].split("=", 1)
    if variable.endswith("-"):
        return
    fields["variable"] = variable
    if value:
        fields["value"] = value
    if variable.upper() == "MAINTENANCE_MODE" and value.lower() in ("true", "false", "on", "off", "1", "0"):
        fields["mode"] = "on" if value.lower() in ("true", "on", "1") else "off"
        fields["maintenance"] = json.dumps({"kind": "env", "variable": variable})


def _patch_fields(patch: str, fields: dict[str, str]) -> None:
    try:
        document = json.loads(patch)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    spec = document.get("spec")
    if isinstance(spec, dict):
        for key, name in (("maxReplicas", "max_replicas"), ("minReplicas", "min_replicas")):
            if isinstance(spec.get(key), int):
                fields[name] = str(spec[key])
    data = document.get("data")
    if isinstance(data, dict) and len(data) == 1:
        ((key, value),) = data.items()
        if "MAINTENANCE" in str(key).upper() and str(value).lower() in ("true", "false", "on", "off"):
            fields["mode"] = "on" if str(value).lower() in ("true", "on") else "off"
            fields["maintenance_key"] = str(key)


def _read_exec(words: list[str], fields: dict[str, str], namespace: str | None) -> _Read:
    inner = shlex.split(fields.get("--", ""))
    target = words[1:]
    if target[:1] == ["deployment"] and len(target) > 1:
        within = Subject("deployment", target[1], namespace)
    elif target:
        placeholder = param_name(target[0])
        within = Subject("pod", None if placeholder else target[0], namespace, placeholder=placeholder)
    else:
        within = Subject("none")
    if not inner:
        return _Read("kubectl", ["exec"], fields)
    return _read_inner(inner, within, "kubectl", ["exec"], fields)


def _read_inner(inner: list[str], within: Subject, tool: str, words: list[str], fields: dict[str, str]) -> _Read:
    program = inner[0]
    hint = within.name if within.kind in ("deployment", "pod", "compose") else None
    if program == "psql":
        return _read_psql(inner[1:], Subject("database", hint, within.namespace))
    if program == "redis-cli":
        return _read_redis(inner[1:], Subject("redis", hint, within.namespace))
    if program == "pg_isready":
        return _Read("pg_isready", [], subject=Subject("database", hint, within.namespace))
    if program in SHELLS and len(inner) == 1:
        return _Read("kubectl", ["exec"], {**fields, "shell": "true"}, notes=["an interactive shell"])
    read = _Read(tool, words, fields)
    read.notes.append(f"`{' '.join(restore(shlex.join(inner)).split())[:80]}`")
    return read


_PSQL_VALUED = {"-U": "user", "--username": "user", "-d": "database", "--dbname": "database", "-h": "host",
                "--host": "host", "-p": "port", "--port": "port", "-c": "sql", "--command": "sql", "-f": "file",
                "--file": "file"}  # fmt: skip
_MINUTES = re.compile(r"interval\s+'(\d{1,4})\s*(minutes?|mins?|m)'", re.I)


def _read_psql(args: list[str], subject: Subject) -> _Read:
    _, fields = _words(args, _PSQL_VALUED)
    subject = Subject(subject.kind, subject.name, subject.namespace, detail=fields.get("database"))
    sql = " ".join(fields.get("sql", "").split()).casefold()
    if "file" in fields:
        return _Read("psql", ["sql"], fields, subject)
    if not sql:
        return _Read("psql", [], fields, subject)
    if ("pg_cancel_backend" in sql or "pg_terminate_backend" in sql) and sql.startswith("select"):
        minutes = _MINUTES.search(sql)
        if minutes:
            fields["minutes"] = minutes.group(1)
        notes = ["the runbook terminates the backends; the bot cancels their queries"] if "terminate" in sql else []
        return _Read("psql", ["kill-queries"] if minutes else ["sql"], fields, subject, notes)
    if re.fullmatch(r"select count\(\*\) from pg_stat_activity;?", sql):
        return _Read("psql", ["count-connections"], fields, subject)
    if sql.startswith("select") and "from pg_stat_activity" in sql and ";" not in sql.rstrip(";"):
        return _Read("psql", ["list-activity"], fields, subject)
    return _Read("psql", ["sql"], fields, subject)


def _read_redis(args: list[str], subject: Subject) -> _Read:
    valued = {"-h": "host", "-p": "port", "-a": "password", "-n": "db", "--pattern": "pattern", "-u": "uri"}
    words, fields = _words(args, valued)
    command = [words[0].casefold()] if words else []
    if command == ["llen"] and len(words) == 2:
        fields["key"] = words[1]
    return _Read("redis-cli", command, fields, subject)


def _read_compose(args: list[str]) -> _Read:
    globals_: dict[str, str] = {}
    while args and args[0] in _COMPOSE_GLOBAL and len(args) > 1:
        globals_[_COMPOSE_GLOBAL[args[0]]] = args[1]
        args = args[2:]
    if not args:
        return _Read("compose", [])
    command, rest = args[0], args[1:]
    where, compose_file = globals_.get("project"), globals_.get("file")
    valued = {"--tail": "tail", "--since": "since", "--scale": "scale", "-t": "timeout", "--timeout": "timeout"}
    if command == "exec":
        # docker-compose exec [options] SERVICE COMMAND…: the first word is the service
        options_end = next((i for i, a in enumerate(rest) if not a.startswith("-")), len(rest))
        if options_end < len(rest):
            service = rest[options_end]
            inner = rest[options_end + 1 :]
            within = Subject("compose", service, where, compose_file)
            if inner:
                return _read_inner(inner, within, "compose", ["exec"], {})
        return _Read("compose", ["exec"])
    words, fields = _words(rest, valued)
    if "f" in fields and command == "logs":
        del fields["f"]
        notes = ["following (-f) left out: the bot answers once"]
    else:
        notes = []
    if command == "up":
        scales = [_scale_pair(v) for v in _all_values(rest, "--scale")]
        reads = [
            _Read("compose", ["up"], {**fields, "replicas": n}, Subject("compose", s, where, compose_file), list(notes))
            for s, n in scales
            if s
        ]
        if reads:
            reads[0].extra = reads[1:]
            return reads[0]
        return _Read("compose", ["up"], fields, Subject("compose", None, where, compose_file))
    services = words
    if not services:
        return _Read("compose", [command], fields, Subject("compose", None, where, compose_file), notes)
    reads = [
        _Read("compose", [command], {**fields, "service": s}, Subject("compose", s, where, compose_file), list(notes))
        for s in services
    ]
    reads[0].extra = reads[1:]
    return reads[0]


def _all_values(args: list[str], option: str) -> list[str]:
    values = []
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith(option + "="):
            values.append(arg.split("=", 1)[1])
    return values


def _scale_pair(value: str) -> tuple[str | None, str]:
    service, _, count = value.partition("=")
    return (service or None, count) if count.isdigit() else (None, "")


_CURL_VALUED = {"-X": "method", "--request": "method", "-d": "data", "--data": "data", "--data-raw": "data",
                "-H": "header", "--header": "header", "-o": "output", "-u": "user", "--user": "user",
                "--max-time": "max_time", "-m": "max_time", "-F": "form", "--form": "form"}  # fmt: skip
_HEALTH_PATH = re.compile(r"/(health|healthz|livez|readyz|ready|ping|status)(/|$|\?)", re.I)


def _read_curl(args: list[str]) -> _Read:
    words, fields = _words(args, _CURL_VALUED)
    url = next((w for w in words if "://" in w or w.startswith(("localhost", "127.0.0.1"))), None)
    sends = bool({"data", "form", "user"} & fields.keys()) or fields.get("method", "GET").upper() != "GET"
    if sends or "authorization" in fields.get("header", "").casefold() or (url and _has_param(url)):
        return _Read("curl", ["send"], fields)
    if url is None:
        return _Read("curl", [], fields)
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parsed.path.endswith("/api/v1/query"):
        query = urllib.parse.parse_qs(parsed.query).get("query", [""])[0]
        if query:
            base = f"{parsed.scheme}://{parsed.netloc}"
            return _Read("curl", ["prometheus"], fields, Subject("prometheus", query, detail=base))
    if _HEALTH_PATH.search(parsed.path + ("?" if parsed.query else "")):
        return _Read("curl", ["health"], fields, Subject("url", url))
    return _Read("curl", [], fields, Subject("url", url))


def _matches(rule: Rule, read: _Read) -> bool:
    if tuple(read.words[: len(rule.words)]) != rule.words:
        return False
    if any(not read.fields.get(n) and n != "service" for n in rule.needs):
        return False
    if "service" in rule.needs and not read.fields.get("service"):
        return False
    return not any(read.fields.get(n) for n in rule.refuses)


_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
# A value copied from the runbook into a step; anything else is left for the on-call to fill in.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.,:/=+@%-]{1,256}$")
_FIELD = re.compile(r"\{([a-z_]+)\}")


def render(template: str, fields: dict[str, str]) -> str:
    """`{service} [--since {since}]` with the fields read → argument text (`{service}` kept for later)."""

    def present(name: str) -> bool:
        return name == "service" or bool(fields.get(name))

    def optional(match: re.Match[str]) -> str:
        return match.group(1) if all(present(n) for n in _FIELD.findall(match.group(1))) else ""

    text = _OPTIONAL.sub(optional, template)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "service":
            return "{service}"
        raw = fields.get(name, "")
        if not raw:
            return "{" + name + "}"
        placeholder = param_name(raw)
        if placeholder:
            return "{" + placeholder + "}"
        return raw if _SAFE_VALUE.match(raw) else "{" + name + "}"

    return " ".join(_FIELD.sub(value, text).split())


def _verdict(read: _Read, line_notes: list[str]) -> Verdict:
    notes = tuple(line_notes)
    for rule in rules_for(read.tool):
        if not _matches(rule, read):
            continue
        if rule.outcome != "mapped":
            detail = "; ".join(read.notes)
            reason = f"{rule.reason} ({detail})" if detail else rule.reason
            if read.fields.get("shell"):
                reason = "opens an interactive shell in a container"
            return Verdict(rule.outcome, reason, fields=read.fields, subject=read.subject)
        assert rule.procedure is not None
        all_notes = tuple(read.notes) + notes + ((rule.reason,) if rule.reason else ())
        return Verdict(
            "mapped",
            "",
            rule.procedure,
            render(rule.args, read.fields),
            read.subject,
            dict(read.fields),
            all_notes,
        )
    return Verdict("no_action", f"`{restore(read.tool)}` is not a command the bot knows")
