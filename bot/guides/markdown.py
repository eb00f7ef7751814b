"""A runbook's markdown → sections with symptoms, command lines and escalation, by a real parser.

markdown-it-py gives the structure: headings open sections at any level; a heading or a bold
paragraph that is a label ("Symptoms", "Diagnosis steps", "Resolution", "Escalation", "Immediate
actions", in several spellings and languages) sets what the following lists, paragraphs and code
mean. Fenced and indented code blocks and inline code give command lines: continuation backslashes
and quotes left open are joined, `# comments` title the commands under them. Raw HTML is never read.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

# "steps" (Actions, Steps, …) mixes checks and changes: each step's phase then follows its procedure.
Label = Literal["symptoms", "immediate", "diagnosis", "resolution", "escalation", "steps"]

# Normalised label text (lowercase, no markup, no "(0-5 minutes)", no trailing colon) → its meaning.
LABELS: dict[Label, str] = {
    "symptoms": "symptoms|symptom|signs|what you see|indicators|symptome|anzeichen|symptômes|symptomes|síntomas"
    "|sintomas|sintomi",
    "immediate": "immediate actions|immediate response|immediate steps|first response|first steps|sofortmaßnahmen"
    "|erste schritte|actions immédiates|acciones inmediatas|azioni immediate",
    "diagnosis": "diagnosis|diagnosis steps|diagnose|diagnostics|diagnostic|investigation|investigation steps"
    "|investigation checklist|investigate|debugging|debugging process|troubleshooting|checks|verification"
    "|recovery validation|validation|assessment|initial assessment|triage|analyse|analysis|untersuchung"
    "|fehlersuche|prüfung|vérification|diagnóstico|diagnostico|investigación|diagnosi",
    "resolution": "resolution|resolution steps|resolution actions|resolve|fix|fixes|common fixes|quick fixes"
    "|mitigation|mitigation options|mitigation actions|mitigation steps|recovery|recovery actions|recovery steps"
    "|remediation|solution|solutions|workaround|targeted resolution|lösung|behebung"
    "|résolution|solución|resolución|risoluzione|soluzione",
    "steps": "actions|steps|procedure|what to do|maßnahmen|schritte|étapes|actions à mener|pasos|acciones|passi",
    "escalation": "escalation|escalate|escalation path|escalation contacts|escalation policy|eskalation|escalade"
    "|escalamiento|escalación|escalada|escalation matrix",
}
_LABEL_OF = {spelling: label for label, spellings in LABELS.items() for spelling in spellings.split("|")}

# Headings whose content lists whom to call: it feeds the guide's contacts, not a section.
CONTACT_HEADINGS = frozenset({
    "emergency contacts", "contacts", "contact information", "contact", "escalation procedures",
    "escalation contacts", "escalation levels", "on-call", "on call", "kontakte", "notfallkontakte",
    "contacts d'urgence", "contactos", "contatti", "external contacts", "escalation matrix",
})  # fmt: skip
SHELL_LANGUAGES = frozenset({"", "bash", "sh", "shell", "console", "zsh", "shell-session", "terminal", "cmd"})
# A first word that makes inline code a command rather than a name or a value in prose.
COMMAND_WORDS = frozenset({
    "kubectl", "docker-compose", "docker", "psql", "redis-cli", "curl", "wget", "helm", "stern", "df", "du",
    "free", "top", "htop", "npm", "yarn", "pnpm", "python", "python3", "node", "bash", "sh", "rm", "find",
    "systemctl", "journalctl", "aws", "gcloud", "az", "pg_isready", "pg_dump", "certbot", "trivy", "openssl",
    "echo", "cat", "tail", "grep", "ls", "k9s", "mysql", "mongo",
})  # fmt: skip
MAX_TITLE = 150


@dataclass(frozen=True)
class CommandLine:
    text: str  # one command, continuation lines joined
    title: str  # what the runbook says it is for (a comment, the list item or the section)
    label: Label | None  # the label in force where it stands
    line: int  # 1-based line in the runbook


@dataclass
class RawSection:
    title: str
    level: int
    symptoms: list[str] = field(default_factory=list)
    commands: list[CommandLine] = field(default_factory=list)
    escalation: list[str] = field(default_factory=list)  # the escalation sentences
    escalation_contacts: list[str] = field(default_factory=list)  # the items listed under an escalation label


@dataclass
class Document:
    title: str
    sections: list[RawSection]
    contacts: list[str]
    other_blocks: dict[str, int]  # code blocks in other languages (sql, promql, yaml…) by language


def normalise_label(text: str) -> str:
    text = re.sub(r"[*_`#]", "", text)
    text = re.sub(r"\([^)]*\)", "", text)
    text = re.sub(r"^\s*(\d+[.)]|[-•])\s*", "", text)
    return re.sub(r"\s+", " ", text).strip().rstrip(":：").strip().casefold()


def label_of(text: str) -> Label | None:
    return _LABEL_OF.get(normalise_label(text))


# A real HTML tag (`<b>`, `</i>`, `<img src=x>`), not a placeholder such as `<name/phone>`.
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,20}(\s[^<>]{0,200})?/?>")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def plain(text: str) -> str:
    """Inline markdown → plain text for titles and symptoms (markup and HTML tags dropped)."""
    text = _HTML_TAG.sub("", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _title(text: str) -> str:
    text = plain(text).rstrip(":：").strip()
    return text[:MAX_TITLE]


_LEADING_LABEL = re.compile(r"^\s*(?:\*\*|__)?([^*_:\n]{1,60}?)(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(.*)$", re.S)


def split_label(content: str) -> tuple[Label | None, str]:
    """`**Symptoms**: text` or `**Escalation:** text` or a paragraph that is only a label → (label, rest)."""
    match = _LEADING_LABEL.match(content)
    if match:
        label = label_of(match.group(1))
        if label is not None:
            return label, plain(match.group(2))
    whole = label_of(content)
    if whole is not None:
        return whole, ""
    return None, content


def _unfinished(text: str) -> bool:
    if text.endswith("\\"):
        return True
    try:
        shlex.split(text, comments=False)
    except ValueError:
        return True  # a quote still open: the command goes on on the next line
    return False


def code_commands(code: str, first_line: int) -> list[tuple[str, str | None, int]]:
    """The command lines of a code block → (command, comment title in force, line)."""
    found: list[tuple[str, str | None, int]] = []
    comment: str | None = None
    lines = code.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i].strip()
        start = i
        i += 1
        if not raw or raw.startswith("#!"):
            continue
        if raw.startswith("#"):
            comment = _title(raw.lstrip("#")) or comment
            continue
        if raw.startswith("$ "):
            raw = raw[2:].strip()
        text = raw
        while _unfinished(text) and i < len(lines):
            following = lines[i].rstrip()
            i += 1
            # The shell drops a backslash-newline and keeps the next line's indentation as the separator.
            text = text[:-1] + following if text.endswith("\\") else text + "\n" + following.strip()
        found.append((text, comment, first_line + start))
    return found


def _looks_like_command(code: str) -> bool:
    words = code.strip().split()
    if not words:
        return False
    first = words[0]
    return first in COMMAND_WORDS or (first.startswith(("./", "/")) and len(first) > 2) or first.startswith("$ ")


class _Walker:
    def __init__(self) -> None:
        self.title = ""
        self.sections: list[RawSection] = []
        self.contacts: list[str] = []
        self.other_blocks: dict[str, int] = {}
        self.section: RawSection | None = None
        self.label: Label | None = None
        self.context = ""  # the list item or bold lead-in the next commands belong to
        self.contact_level: int | None = None  # inside a contacts heading of this level
        self.row: list[str] = []

    def heading(self, level: int, text: str) -> None:
        self.context = ""
        if level == 1 and not self.title:
            self.title = _title(text)
            return
        if self.contact_level is not None and level <= self.contact_level:
            self.contact_level = None
        if normalise_label(text) in CONTACT_HEADINGS:
            self.contact_level = level
            self.section = None
            return
        if self.contact_level is not None:
            self.contacts.append(_title(text))
            return
        label = label_of(text)
        if label is not None and self.section is not None and level > self.section.level:
            self.label = label
            return
        self.label = label
        self.section = RawSection(title=_title(text) or "untitled", level=level)
        self.sections.append(self.section)

    def _current(self) -> RawSection:
        if self.section is None:
            self.section = RawSection(title=self.title or "Runbook", level=1)
            self.sections.append(self.section)
        return self.section

    def paragraph(self, content: str, line: int, in_list_lead: bool) -> bool:
        """Read one paragraph; whether it starts with a label.

        A line that starts with a label starts a new part (`**Symptoms**: …` then `**Actions**:` on
        the next line, with no blank line between, is one markdown paragraph but two parts).
        """
        parts: list[str] = []
        for text in content.split("\n"):
            if parts and split_label(text)[0] is None:
                parts[-1] += "\n" + text
            else:
                parts.append(text)
        labelled = [self._part(part, line, in_list_lead and n == 0) for n, part in enumerate(parts)]
        return labelled[0]

    def _part(self, content: str, line: int, in_list_lead: bool) -> bool:
        label, rest = split_label(content)
        if self.contact_level is not None:
            if rest and (in_list_lead or self.row):
                self.contacts.append(plain(rest)[:300])
            return False
        if label is not None:
            self.label = label
            self.context = ""
            content = rest
        if label == "escalation" or (self.label == "escalation" and label is None):
            if content and in_list_lead and label is None:
                self._current().escalation_contacts.append(plain(content)[:300])
            elif content:
                self._current().escalation.append(plain(content)[:500])
            return label is not None
        if self.label == "symptoms" and label is None and in_list_lead:
            self._current().symptoms.append(plain(content)[:300])
        elif label == "symptoms" and rest:
            self._current().symptoms.extend(s.strip() for s in rest.split(",") if s.strip())
        lead = plain(content.split("`", 1)[0]) if content else ""
        if in_list_lead or (content.startswith(("**", "__")) and label is None):
            self.context = _title(lead)
        for match in _CODE_SPAN.finditer(content):
            code = match.group(2).strip()
            if _looks_like_command(code):
                self._add(code, _title(lead) or self.context or self._current().title, line)
        return label is not None

    def cell(self, content: str, children: list[Token], line: int) -> None:
        if self.contact_level is not None:
            self.row.append(plain(content))
            return
        self.row.append(plain(content))
        for child in children:
            if child.type == "code_inline" and _looks_like_command(child.content):
                title = _title(self.row[0]) if len(self.row) > 1 else self.context or self._current().title
                self._add(child.content.strip(), title, line)

    def end_row(self, header: bool) -> None:
        if self.contact_level is not None and not header and any(self.row):
            self.contacts.append(" — ".join(c for c in self.row if c)[:300])
        self.row = []

    def code(self, info: str, content: str, first_line: int) -> None:
        language = (info.split() or [""])[0].casefold()
        if language not in SHELL_LANGUAGES:
            self.other_blocks[language] = self.other_blocks.get(language, 0) + 1
            return
        if self.contact_level is not None:
            return
        for text, comment, at in code_commands(content, first_line):
            if not language and not _looks_like_command(text):
                continue  # a block without a language is often prose (a message template, a config file)
            title = comment or self.context or self._current().title
            self._add(text, title, at)

    def _add(self, text: str, title: str, line: int) -> None:
        if text.startswith("$ "):
            text = text[2:].strip()
        self._current().commands.append(CommandLine(text=text, title=title[:MAX_TITLE], label=self.label, line=line))


def parse(markdown: str) -> Document:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": 40}).enable("table")
    tokens = md.parse(markdown)
    walker = _Walker()
    # per open list item: [first paragraph seen, label before the item, the item's lead is a label]
    list_stack: list[list[Any]] = []
    in_row_header = False
    line = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.map:
            line = token.map[0] + 1
        if token.type == "heading_open":
            walker.heading(int(token.tag[1:]), tokens[i + 1].content)
            i += 3
            continue
        if token.type == "list_item_open":
            list_stack.append([False, walker.label, False])
        elif token.type == "list_item_close":
            _, label_before, labelled = list_stack.pop()
            if labelled:  # "- Symptoms" with a nested list: the label ends with its item
                walker.label = label_before
        elif token.type == "thead_open":
            in_row_header = True
        elif token.type == "thead_close":
            in_row_header = False
        elif token.type == "tr_close":
            walker.end_row(in_row_header)
        elif token.type in ("th_open", "td_open"):
            inline = tokens[i + 1]
            walker.cell(inline.content, inline.children or [], line)
        elif token.type == "paragraph_open":
            inline = tokens[i + 1]
            lead = bool(list_stack) and not list_stack[-1][0]
            if list_stack:
                list_stack[-1][0] = True
            labelled = walker.paragraph(inline.content, line, lead)
            if lead and labelled:
                list_stack[-1][2] = True
        elif token.type in ("fence", "code_block"):
            fenced = token.type == "fence"
            # A fence's code starts on the line after the ``` that opens it; indented code on its own line.
            walker.code(token.info.strip() if fenced else "", token.content, line + 1 if fenced else line)
        i += 1
    return Document(
        title=walker.title or "Runbook",
        sections=walker.sections,
        contacts=walker.contacts,
        other_blocks=walker.other_blocks,
    )
