"""The one sandboxed Jinja2 environment for message templates, and the check that renders them all.

A template renders a small YAML document: `text` (the plain-text fallback that
notifications show) and `blocks` (Block Kit). Every value that reaches a template
is escaped for mrkdwn by the code that builds the context (e.g. bot/comms/contexts.py),
so a template cannot forget to. Inside the YAML, text is wrapped in
`{% filter q %}…{% endfilter %}`, which quotes it as a YAML string: quotes,
colons or newlines typed by a user can never change the document's structure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.meta
import structlog
import yaml
from jinja2.sandbox import SandboxedEnvironment
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import compiled, errors
from bot.phrase_uses import Use, phrase_uses
from bot.settings import PROJECT_ROOT
from bot.text import escape

log = structlog.get_logger(__name__)

SUFFIX = ".yml.j2"
PHRASES = "phrases.yml"  # the phrase book: error key -> a Jinja sentence (see errors.Said)
SHORT_CODE = 80  # a quoted name longer than this (user text, mostly) is cut
MAX_BLOCKS = 50
MAX_TEXT = 4000
# Slack's limits on the text a block holds: longer text is cut (with a visible mark) rather than refused.
TEXT_LIMITS = {"header": 150, "section": 3000, "context": 3000}
FIELD_TEXT, MAX_FIELDS, MAX_CONTEXT_ELEMENTS, MAX_BUTTONS = 2000, 10, 10, 25
BUTTON_TEXT = 75
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
LABEL_TEXT, OPTION_TEXT = 2000, 75  # a modal input's label and each option of its select

_STR, _BOOL, _NULL, _INT, _FLOAT = ("tag:yaml.org,2002:" + kind for kind in ("str", "bool", "null", "int", "float"))
_NUMBERS = yaml.constructor.SafeConstructor()  # its number constructors read the scalar node alone

try:  # libyaml's C parser, when PyYAML was built with it (its wheels are): several times faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover (a PyYAML built without libyaml)
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class YamlLoader(_SafeLoader):
    """The safe loader, minus a regex pass per quoted value: every value a template renders goes
    through the `q` filter, and a quoted scalar is a string whatever it says (`"true"`, `"1"`)."""

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and not implicit[0] and not self.yaml_path_resolvers:
            return _STR
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call,no-any-return]


class _Unusual(Exception):
    """A YAML feature a message document does not need (numbers, dates, merge keys, aliases)."""


def _plain(node: yaml.Node, seen: set[int]) -> object:
    if isinstance(node, yaml.CollectionNode):
        if id(node) in seen:  # an alias: safe_load shares the object, a copy here could blow up
            raise _Unusual
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        return {_plain(key, seen): _plain(value, seen) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, seen) for item in node.value]
    if node.tag == _STR:
        return node.value
    if node.tag == _BOOL:
        return node.value.lower() in ("true", "yes", "on")
    if node.tag == _NULL:
        return None
    if isinstance(node, yaml.ScalarNode) and node.tag == _INT:  # 0x1f, 1_000 and 1:30 as safe_load reads them
        return _NUMBERS.construct_yaml_int(node)
    if isinstance(node, yaml.ScalarNode) and node.tag == _FLOAT:
        return _NUMBERS.construct_yaml_float(node)
    raise _Unusual


def _compose(source: str) -> yaml.Node | None:
    loader = YamlLoader(source.encode())  # libyaml reads bytes faster than str
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _data(node: yaml.Node | None, source: str) -> object:
    if node is None:
        return None
    try:
        return _plain(node, set())
    except _Unusual:
        return yaml.load(source, Loader=YamlLoader)  # noqa: S506 (a safe loader, C or Python)


def load_document(source: str) -> object:
    """The rendered YAML as Python data, as yaml.safe_load would give it.

    A message is mappings, lists, strings and booleans (a catalog or a procedure also numbers); building
    those straight from libyaml's nodes skips PyYAML's general constructor, which costs more than the
    parse. Anything else (timestamps, merge keys, aliases) goes through the full safe loader."""
    return _data(_compose(source), source)


_file_nodes: dict[str, yaml.Node | None] = {}  # a configuration file's text -> its composed document


def _file_node(source: str) -> yaml.Node | None:
    if source not in _file_nodes:
        _file_nodes[source] = _compose(source)
    return _file_nodes[source]


def load_file(source: str) -> object:
    """load_document for a configuration file's text (catalog, procedure, guide, phrase book).

    Every bot a process starts reads the same files (the test suite starts hundreds), and composing
    them (libyaml calling back into the resolver for each scalar) is most of the cost: each distinct
    text is composed once per process. The nodes are only read; the data is built anew on every call,
    so what one caller changes no other sees. (Messages are not kept: each rendered text is new.)"""
    return _data(_file_node(source), source)


PUBLIC_PREFIX = "public_"  # templates of what customers read (the status page), rendered by render_public


@dataclass(frozen=True)
class Rendered:
    text: str
    blocks: list[dict[str, Any]]


# What YAML may not hold raw in a quoted scalar: characters outside its printable set (DEL, C1 controls,
# U+FFFE/U+FFFF) make the parse fail, and its extra line breaks (NEL, U+2028, U+2029) would be folded
# into spaces. json.dumps leaves them raw; the \u escapes below mean the same in YAML.
_NOT_YAML_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_unprintable(match: re.Match[str]) -> str:
    point = ord(match.group())
    if 0xD800 <= point <= 0xDFFF:  # a lone surrogate: no YAML escape means it, and Slack would refuse it
        return "\ufffd"
    return f"\\u{point:04x}"


def _quote(value: object) -> str:
    # JSON strings are valid YAML flow scalars, and json.dumps escapes every newline and quote.
    return _NOT_YAML_PRINTABLE.sub(_escape_unprintable, json.dumps(str(value), ensure_ascii=False))


# Compiled code depends on Jinja's version and on how build_environment configures the environment
# (this module): an entry kept on disk by another version of either is never read.
_ON_DISK = compiled.digest(jinja2.__version__, Path(__file__).read_bytes())[:16]


class _ProcessBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates, shared by every environment of the process (all are built alike, below),
    and kept on disk for the next process (bot/compiled.py).

    Jinja checks each entry against its source's checksum, so an edited file compiles afresh; a process
    that builds the bot again (a worker restarted by the supervisor, the test suite's hundreds of bots)
    does not compile the same templates again, nor does the next process when a cache folder is set."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is None:
            code = compiled.DISK.read(f"template-{_ON_DISK}-{bucket.key}")
            if code is not None:
                self._code[bucket.key] = code  # checked against the source below, like a compiled one
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code[bucket.key] = bucket.bytecode_to_string()
        compiled.DISK.write(f"template-{_ON_DISK}-{bucket.key}", code)


_COMPILED = _ProcessBytecodeCache()
_compiled_phrases: dict[str, CodeType] = {}  # a phrase's source -> its compiled code, for the same reason


def _compile_phrase(env: SandboxedEnvironment, source: str) -> jinja2.Template:
    """`env.from_string(source)`, compiling each distinct source once per process, or reading what
    an earlier process compiled (named after the source, and checked against it)."""
    code = _compiled_phrases.get(source)
    if code is None:
        name = f"phrase-{_ON_DISK}-{compiled.digest(source)}"
        bucket = jinja2.bccache.Bucket(env, name, _COMPILED.get_source_checksum(source))
        kept = compiled.DISK.read(name)
        if kept is not None:
            bucket.bytecode_from_string(kept)  # a torn or foreign entry leaves bucket.code None
        if bucket.code is None:
            bucket.code = env.compile(source)
            compiled.DISK.write(name, bucket.bytecode_to_string())
        code = _compiled_phrases[source] = bucket.code
    return env.template_class.from_code(env, code, env.make_globals(None))


def build_environment(templates_dir: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=_COMPILED,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is YAML, not HTML; mrkdwn escaping happens on the values
        keep_trailing_newline=True,
        # Templates are checked with hostile data at start-up; an edit made while the bot runs must not
        # go live unchecked (and not statting every file on every render saves time on the hot path).
        auto_reload=False,
    )
    env.filters["mrkdwn"] = escape
    env.filters["q"] = _quote
    return env


def validate_blocks(blocks: object) -> list[dict[str, Any]]:
    """Blocks through slack_sdk's models (types, required fields, Slack's length limits)."""
    if not isinstance(blocks, list) or not blocks:
        raise ValueError("`blocks` must be a non-empty list")
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks; Slack allows {MAX_BLOCKS}")
    out: list[dict[str, Any]] = []
    for index, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            raise ValueError(f"blocks[{index}] is not a mapping")
        try:
            block = Block.parse(raw)
            if block is None or block.type != raw.get("type"):
                raise ValueError(f"blocks[{index}]: unknown block type {raw.get('type')!r}")
            out.append(block.to_dict())
        except SlackObjectFormationError as exc:
            raise ValueError(f"blocks[{index}] ({raw.get('type')}): {exc}") from exc
    return out


def _cut(text: object, limit: int) -> object:
    return text[: limit - 1] + "…" if isinstance(text, str) and len(text) > limit else text


def _cut_text_of(obj: object, limit: int) -> None:
    if isinstance(obj, dict):
        obj["text"] = _cut(obj.get("text"), limit)


def fit_blocks(blocks: object) -> object:
    """Cut what would overflow Slack's limits (long runtime values: many steps, a long history):
    text to its block's limit, fields, context elements and buttons to their counts, and at most
    50 blocks, the last saying how many were left out. Anything else is left for validation."""
    if not isinstance(blocks, list):
        return blocks
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        said = errors.plain(errors.Said("blocks_left_out", count=left_out))
        note = {"type": "context", "elements": [{"type": "mrkdwn", "text": said}]}
        blocks = [*blocks[: MAX_BLOCKS - 1], note]
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("header", "section"):
            _cut_text_of(block.get("text"), TEXT_LIMITS[kind])
        if kind == "section" and isinstance(block.get("fields"), list):
            block["fields"] = block["fields"][:MAX_FIELDS]
            for item in block["fields"]:
                _cut_text_of(item, FIELD_TEXT)
        if kind == "section" and isinstance(block.get("accessory"), dict):
            _cut_text_of(block["accessory"].get("text"), BUTTON_TEXT)
        if kind == "input" and isinstance(block.get("element"), dict):
            _cut_text_of(block.get("label"), LABEL_TEXT)
            for option in [*(block["element"].get("options") or ()), block["element"].get("initial_option")]:
                if isinstance(option, dict):  # the initial option is cut as its copy in the options is
                    _cut_text_of(option.get("text"), OPTION_TEXT)
        elif kind == "context" and isinstance(block.get("elements"), list):
            block["elements"] = block["elements"][:MAX_CONTEXT_ELEMENTS]
            for item in block["elements"]:
                _cut_text_of(item, TEXT_LIMITS["context"])
        elif kind == "actions" and isinstance(block.get("elements"), list):
            block["elements"] = block["elements"][:MAX_BUTTONS]
            for item in block["elements"]:
                if isinstance(item, dict):
                    _cut_text_of(item.get("text"), BUTTON_TEXT)
                    confirm = item.get("confirm")
                    if isinstance(confirm, dict):
                        for key, limit in CONFIRM_LIMITS.items():
                            _cut_text_of(confirm.get(key), limit)
    return blocks


def _refuse_repeated_keys(document: yaml.Node | None) -> None:
    """YAML keeps the last of two equal keys without a word: a team adding a phrase the book already has
    would see its first wording ignored."""
    seen: set[str] = set()
    for key, _ in document.value if isinstance(document, yaml.MappingNode) else ():
        if key.value in seen:
            raise ValueError(f"{key.value}: the key is given twice (line {key.start_mark.line + 1}); keep one")
        seen.add(key.value)


class Templates:
    """Renders `templates/<name>.yml.j2` into a message that fits Slack's limits.

    `validate=True` also runs the blocks through slack_sdk's models. That costs more than the render
    itself, so messages on the hot path (previews, progress, results) skip it: their templates were
    already validated with hostile data when the bot started (check_templates), and what varies at
    run time, the length of values, is cut to fit here."""

    def __init__(self, templates_dir: Path) -> None:
        self.dir = templates_dir
        self._env = build_environment(templates_dir)
        self._phrases: dict[str, tuple[str, jinja2.Template]] | None = None  # compiled once, on first use

    def phrases(self) -> dict[str, tuple[str, jinja2.Template]]:
        """The phrase book (templates/phrases.yml): key -> its sentence's source and compiled template."""
        if self._phrases is None:
            path = self.dir / PHRASES
            try:
                text = path.read_text(encoding="utf-8")
                book = load_file(text)  # libyaml: PyYAML's own parser takes a tenth of a second
                if not isinstance(book, dict):
                    raise ValueError("the phrase book must be a mapping of key: sentence")
                _refuse_repeated_keys(_file_node(text))
                compiled: dict[str, tuple[str, jinja2.Template]] = {}
                for key, source in book.items():
                    if not isinstance(key, str) or not errors.KEY.match(key) or not isinstance(source, str):
                        raise ValueError(f"{key!r}: a key is lower_snake_case and its phrase a string")
                    try:
                        compiled[key] = (source, _compile_phrase(self._env, source))
                    except jinja2.TemplateSyntaxError as exc:
                        raise ValueError(f"{key}: {exc}") from exc
            except (OSError, yaml.YAMLError, ValueError) as exc:
                raise errors.ConfigError([f"{path}: {type(exc).__name__}: {exc}"]) from exc
            self._phrases = compiled
        return self._phrases

    def phrase(self, said: errors.Said, show: Callable[[errors.Field], str]) -> str:
        """A phrase said with its fields, each shown by `show` (the surface's: mrkdwn for Slack, plain
        for logs). Never raises: it words an error, and a broken phrase must not hide the error."""
        fields = {name: self._shown(value, show) for name, value in said.fields.items()}
        entry = self.phrases().get(said.key)
        if entry is not None:
            try:
                return entry[1].render(**fields).strip()
            except (jinja2.TemplateError, TypeError, ValueError):
                log.exception("phrase did not render; said by its key", key=said.key)
        return said.key + (f" ({', '.join(f'{k}: {v}' for k, v in fields.items())})" if fields else "")

    def plain(self, said: errors.Said) -> str:
        """A phrase as plain text (logs, the command line): users as @id, names in backticks."""
        return self.phrase(said, _plain_shown)

    def _shown(self, value: errors.Field, show: Callable[[errors.Field], str]) -> object:
        if isinstance(value, errors.Said):
            return self.phrase(value, show)
        if isinstance(value, list | tuple):
            return [self._shown(item, show) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value  # a number or a flag is data a phrase may test: `{% if more %}`
        if isinstance(value, errors.Code) and len(value.text) > SHORT_CODE:
            value = errors.Code(value.text[: SHORT_CODE - 1] + "…")
        return show(value)

    def render(self, name: str, context: Mapping[str, Any], *, validate: bool = True) -> Rendered:
        try:
            source = self._env.get_template(name + SUFFIX).render(**context)
            document = load_document(source)
            if not isinstance(document, dict):
                raise ValueError("the template must render a mapping with `text` and `blocks`")
            text = document.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("`text` (the plain-text fallback) is missing or empty")
            fitted = fit_blocks(document.get("blocks"))
            blocks = validate_blocks(fitted) if validate else _checked_shape(fitted)
        except (jinja2.TemplateError, yaml.YAMLError, ValueError, TypeError) as exc:
            raise errors.ConfigError([f"{self.dir / (name + SUFFIX)}: {type(exc).__name__}: {exc}"]) from exc
        return Rendered(text[:MAX_TEXT], blocks)

    def render_view(
        self, name: str, context: Mapping[str, Any], *, callback_id: str, private_metadata: str
    ) -> dict[str, Any]:
        """A modal (`views.open`): the template renders its `title`, `submit`, `close` and `blocks`;
        the code supplies the callback id and the metadata, so no wording can reroute a submission."""
        try:
            source = self._env.get_template(name + SUFFIX).render(**context)
            document = load_document(source)
            if not isinstance(document, dict):
                raise ValueError("a modal template must render a mapping with `title`, `submit`, `close`, `blocks`")
            view = View(
                type="modal",
                callback_id=callback_id,
                private_metadata=private_metadata,
                title=_modal_label(document.get("title"), "title"),
                submit=_modal_label(document.get("submit"), "submit"),
                close=_modal_label(document.get("close"), "close"),
                blocks=validate_blocks(fit_blocks(document.get("blocks"))),
            )
            return dict(view.to_dict())
        except (jinja2.TemplateError, yaml.YAMLError, ValueError, TypeError, SlackObjectFormationError) as exc:
            raise errors.ConfigError([f"{self.dir / (name + SUFFIX)}: {type(exc).__name__}: {exc}"]) from exc

    def render_public(self, name: str, context: Mapping[str, Any]) -> dict[str, str]:
        """A text customers read (templates/public_*.yml.j2): its `name` and `body`, plain strings, no Block Kit."""
        fields = ("name", "body")
        try:
            document = load_document(self._env.get_template(name + SUFFIX).render(**context))
            if not isinstance(document, dict):
                raise ValueError(f"the template must render a mapping with {', '.join(fields)}")
            out: dict[str, str] = {}
            for key in fields:
                value = document.get(key)
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"`{key}` is missing or empty")
                out[key] = value.strip()[:MAX_TEXT]
        except (jinja2.TemplateError, yaml.YAMLError, ValueError, TypeError) as exc:
            raise errors.ConfigError([f"{self.dir / (name + SUFFIX)}: {type(exc).__name__}: {exc}"]) from exc
        return out


def _plain_shown(value: errors.Field) -> str:
    return errors.plain_field(value)


_packaged: list[Templates] = []


def _packaged_plain(said: errors.Said) -> str:
    # Until the composition root installs the configured book, errors are said with the packaged one.
    if not _packaged:
        _packaged.append(Templates(PROJECT_ROOT / "templates"))
    return _packaged[0].plain(said)


errors.use_phrase_book(_packaged_plain)


MODAL_SUFFIX = "_modal"  # a template named …_modal renders a view (render_view), not a message
MODAL_LABEL = 24  # Slack's limit for a modal's title, submit and close


def _modal_label(text: object, key: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`{key}` is missing or empty")
    return {"type": "plain_text", "text": text if len(text) <= MODAL_LABEL else text[: MODAL_LABEL - 1] + "…"}


def _checked_shape(blocks: object) -> list[dict[str, Any]]:
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise ValueError("`blocks` must be a non-empty list of mappings")
    return blocks


SampleContexts = Mapping[str, Callable[[], Mapping[str, Any]]]
"""Template name → a function building a hostile context for it (every surface contributes its own)."""

# User text in the samples carries these; none may reach a rendered message unescaped.
PINGS = ("<!channel>", "<!here>", "<@U0SAMPLE>")


def check_templates(templates_dir: Path, known: SampleContexts) -> list[str]:
    """Render every known template with hostile sample data; one problem line (file: error) each.

    Also parses every other `*.j2` file in the folder, so a syntax error anywhere is reported.
    """
    problems: list[str] = []
    templates = Templates(templates_dir)
    for name, make_context in known.items():
        path = templates_dir / (name + SUFFIX)
        if not path.is_file():
            problems.append(f"{path}: missing (the bot renders this template)")
            continue
        try:
            if name.endswith(MODAL_SUFFIX):
                shown = json.dumps(templates.render_view(name, make_context(), callback_id=name, private_metadata=""))
            elif name.startswith(PUBLIC_PREFIX):  # customers' text: no Block Kit
                shown = json.dumps(templates.render_public(name, make_context()))
            else:
                rendered = templates.render(name, make_context())
                shown = json.dumps([rendered.text, rendered.blocks])
        except errors.ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for ping in PINGS:
            if ping in shown:
                problems.append(f"{path}: user text {ping!r} reached the message unescaped (it would ping)")
    problems.extend(check_phrases(templates, phrase_uses()))
    env = build_environment(templates_dir)
    for path in sorted(templates_dir.glob("*.j2")):
        if path.name.removesuffix(SUFFIX) in known:
            continue
        try:
            env.parse(path.read_text(encoding="utf-8"))
        except (jinja2.TemplateSyntaxError, OSError) as exc:
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
    return problems


HOSTILE_FIELD = "<!channel> <@U0SAMPLE> & *bold* `tick` {{ x }}"


def check_phrases(templates: Templates, uses: Sequence[Use]) -> list[str]:
    """The phrase book against the code that says it, both ways, and each phrase said with hostile fields."""
    path = templates.dir / PHRASES
    try:
        book = templates.phrases()
    except errors.ConfigError as exc:
        return exc.problems
    problems: list[str] = []
    said_keys = {use.key for use in uses}
    for use in uses:
        if use.key not in book:
            problems.append(f"{path}: no phrase `{use.key}` (said at bot/{use.where.removeprefix('bot/')})")
    for key, (source, _) in book.items():
        if key not in said_keys:
            problems.append(f"{path}: phrase `{key}` is said nowhere in the code; remove it")
            continue
        needed = jinja2.meta.find_undeclared_variables(templates._env.parse(source))
        for use in uses:
            if use.key == key and use.fields is not None and needed - use.fields:
                missing = ", ".join(sorted(needed - use.fields))
                problems.append(f"{path}: phrase `{key}` uses {missing}, which {use.where} does not give")
        try:
            shown = templates.phrases()[key][1].render(**{name: escape(HOSTILE_FIELD) for name in needed})
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            problems.append(f"{path}: phrase `{key}`: {type(exc).__name__}: {exc}")
            continue
        for ping in PINGS:
            if ping in shown:
                problems.append(f"{path}: phrase `{key}`: {ping!r} reached the message unescaped (it would ping)")
    return problems
