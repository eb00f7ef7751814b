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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import errors
from bot.text import escape

SUFFIX = ".yml.j2"
MAX_BLOCKS = 50
MAX_TEXT = 4000
# libyaml's parser where it is installed: the alert path renders a message per group during a flood.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Slack's length limits per kind of text. A template adds its own words to values of any length, so the
# rendered text is clipped here (with a visible mark) rather than refused by Slack or by validation.
TEXT_LIMITS = {
    "header": 150,
    "section": 3000,
    "field": 2000,
    "context": 3000,
    "button": 75,
    "label": 2000,
    "option": 75,
}


@dataclass(frozen=True)
class Rendered:
    text: str
    blocks: list[dict[str, Any]]


def _quote(value: object) -> str:
    # JSON strings are valid YAML flow scalars, and json.dumps escapes every newline and quote.
    return json.dumps(str(value), ensure_ascii=False)


def build_environment(templates_dir: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is YAML, not HTML; mrkdwn escaping happens on the values
        keep_trailing_newline=True,
        # Compiled templates stay cached without a stat per render; a changed file is read at the next
        # start, after `check-config` has rendered it, never mid-run unchecked.
        auto_reload=False,
    )
    env.filters["mrkdwn"] = escape
    env.filters["q"] = _quote
    return env


def _clip(text: object, limit: int) -> object:
    if isinstance(text, dict) and isinstance(text.get("text"), str) and len(text["text"]) > limit:
        return {**text, "text": text["text"][: limit - 1] + "…"}
    return text


def clip_texts(blocks: object) -> object:
    """The texts of headers, sections, fields, context elements and buttons cut to Slack's limits."""
    if not isinstance(blocks, list):
        return blocks
    clipped: list[object] = []
    for raw in blocks:
        if not isinstance(raw, dict):
            clipped.append(raw)
            continue
        block = dict(raw)
        kind = block.get("type")
        if kind in ("header", "section") and "text" in block:
            block["text"] = _clip(block["text"], TEXT_LIMITS[str(kind)])
        if isinstance(block.get("fields"), list):
            block["fields"] = [_clip(f, TEXT_LIMITS["field"]) for f in block["fields"]]
        if kind == "context" and isinstance(block.get("elements"), list):
            block["elements"] = [_clip(e, TEXT_LIMITS["context"]) for e in block["elements"]]
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") == "button":
            block["accessory"] = {
                **block["accessory"],
                "text": _clip(block["accessory"].get("text"), TEXT_LIMITS["button"]),
            }
        if kind == "input" and isinstance(block.get("element"), dict):
            block["label"] = _clip(block.get("label"), TEXT_LIMITS["label"])
            options = block["element"].get("options")
            if isinstance(options, list):
                clipped_options = [
                    {**o, "text": _clip(o.get("text"), TEXT_LIMITS["option"])} if isinstance(o, dict) else o
                    for o in options
                ]
                block["element"] = {**block["element"], "options": clipped_options}
        if kind == "actions" and isinstance(block.get("elements"), list):
            block["elements"] = [
                {**e, "text": _clip(e.get("text"), TEXT_LIMITS["button"])} if isinstance(e, dict) else e
                for e in block["elements"]
            ]
        clipped.append(block)
    return clipped


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


class Templates:
    """Renders `templates/<name>.yml.j2` into a validated message."""

    def __init__(self, templates_dir: Path) -> None:
        self.dir = templates_dir
        self._env = build_environment(templates_dir)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        try:
            source = self._env.get_template(name + SUFFIX).render(**context)
            document = yaml.load(source, Loader=YAML_LOADER)  # noqa: S506 (a safe loader, C or Python)
            if not isinstance(document, dict):
                raise ValueError("the template must render a mapping with `text` and `blocks`")
            text = document.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("`text` (the plain-text fallback) is missing or empty")
            blocks = validate_blocks(clip_texts(document.get("blocks")))
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
            document = yaml.load(source, Loader=YAML_LOADER)  # noqa: S506 (a safe loader, C or Python)
            if not isinstance(document, dict):
                raise ValueError("a modal template must render a mapping with `title`, `submit`, `close`, `blocks`")
            view = View(
                type="modal",
                callback_id=callback_id,
                private_metadata=private_metadata,
                title=_modal_label(document.get("title"), "title"),
                submit=_modal_label(document.get("submit"), "submit"),
                close=_modal_label(document.get("close"), "close"),
                blocks=validate_blocks(clip_texts(document.get("blocks"))),
            )
            return dict(view.to_dict())
        except (jinja2.TemplateError, yaml.YAMLError, ValueError, TypeError, SlackObjectFormationError) as exc:
            raise errors.ConfigError([f"{self.dir / (name + SUFFIX)}: {type(exc).__name__}: {exc}"]) from exc


MODAL_SUFFIX = "_modal"  # a template named …_modal renders a view (render_view), not a message
MODAL_LABEL = 24  # Slack's limit for a modal's title, submit and close


def _modal_label(text: object, key: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`{key}` is missing or empty")
    return {"type": "plain_text", "text": text if len(text) <= MODAL_LABEL else text[: MODAL_LABEL - 1] + "…"}


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
            else:
                rendered = templates.render(name, make_context())
                shown = json.dumps([rendered.text, rendered.blocks])
        except errors.ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for ping in PINGS:
            if ping in shown:
                problems.append(f"{path}: user text {ping!r} reached the message unescaped (it would ping)")
    env = build_environment(templates_dir)
    for path in sorted(templates_dir.glob("*.j2")):
        if path.name.removesuffix(SUFFIX) in known:
            continue
        try:
            env.parse(path.read_text(encoding="utf-8"))
        except (jinja2.TemplateSyntaxError, OSError) as exc:
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
    return problems
