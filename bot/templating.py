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

from bot import errors
from bot.text import escape

SUFFIX = ".yml.j2"
MAX_BLOCKS = 50
MAX_TEXT = 4000
PUBLIC_PREFIX = "public_"  # templates of what customers read (the status page), rendered by render_public


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


class Templates:
    """Renders `templates/<name>.yml.j2` into a validated message."""

    def __init__(self, templates_dir: Path) -> None:
        self.dir = templates_dir
        self._env = build_environment(templates_dir)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        try:
            source = self._env.get_template(name + SUFFIX).render(**context)
            document = yaml.safe_load(source)
            if not isinstance(document, dict):
                raise ValueError("the template must render a mapping with `text` and `blocks`")
            text = document.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("`text` (the plain-text fallback) is missing or empty")
            blocks = validate_blocks(document.get("blocks"))
        except (jinja2.TemplateError, yaml.YAMLError, ValueError, TypeError) as exc:
            raise errors.ConfigError([f"{self.dir / (name + SUFFIX)}: {type(exc).__name__}: {exc}"]) from exc
        return Rendered(text[:MAX_TEXT], blocks)

    def render_public(self, name: str, context: Mapping[str, Any]) -> dict[str, str]:
        """A text customers read (templates/public_*.yml.j2): its `name` and `body`, plain strings, no Block Kit."""
        fields = ("name", "body")
        try:
            document = yaml.safe_load(self._env.get_template(name + SUFFIX).render(**context))
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
            if name.startswith(PUBLIC_PREFIX):  # customers' text: no Block Kit
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
    env = build_environment(templates_dir)
    for path in sorted(templates_dir.glob("*.j2")):
        if path.name.removesuffix(SUFFIX) in known:
            continue
        try:
            env.parse(path.read_text(encoding="utf-8"))
        except (jinja2.TemplateSyntaxError, OSError) as exc:
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
    return problems
