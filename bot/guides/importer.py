"""`runbook-bot import RUNBOOK.md`: a markdown runbook → a guide, proposed catalog entries, procedures, a report.

Nothing is enabled by importing: the output is a proposal a person reviews and copies into
`runbooks/`, `chatops.yml` and `commands/`. Every command line of the runbook is accounted for in
the report, either as the procedure it became or as the reason it was left out.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.catalog import LEGACY_KUBERNETES_KEYS, Catalog, Service
from bot.catalog_targets import NAME_PATTERN
from bot.guides import markdown
from bot.guides.commands import Subject, Verdict, classify, restore
from bot.guides.loader import step_problem
from bot.guides.mappings import PROCEDURE_TEMPLATES, Outcome
from bot.guides.model import Escalation, Guide, GuideStep, Phase, Section
from bot.runbooks.model import Procedure

MAX_RUNBOOK_BYTES = 2_000_000
_TIME_LIMIT = re.compile(
    r"(\d{1,4})\s*(minutes?|mins?|minuten|minutos|minuti|m\b|hours?|hrs?|h\b|stunden?|heures?|horas?|ore)", re.I
)
_TITLE_NOISE = {"runbook", "runbooks", "support", "operations", "operational", "production", "system", "ops", "for"}
_TITLE_NOISE |= {"the", "service", "guide", "playbook", "manual"}


class RunbookRefused(ValueError):
    """The runbook cannot be imported at all (too large, not text); the message says why."""


@dataclass(frozen=True)
class LineReport:
    section: str
    line: int
    text: str
    outcome: Outcome
    reason: str
    steps: tuple[str, ...] = ()


@dataclass
class ImportResult:
    guide: Guide
    services: dict[str, dict[str, Any]]  # proposed catalog services (new ones whole, known ones: additions)
    compose_services: dict[str, dict[str, Any]]  # compose services, for the compose targets' catalog kind
    procedures: dict[str, dict[str, Any]]  # procedure files the guide needs that are not built in
    lines: list[LineReport]
    other_blocks: dict[str, int]

    @property
    def mapped(self) -> int:
        return sum(1 for line in self.lines if line.outcome == "mapped")


def time_limit_minutes(text: str) -> int | None:
    match = _TIME_LIMIT.search(text)
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2).casefold()
    minutes = value * 60 if unit.startswith(("h", "st", "ore")) else value
    return minutes if 0 < minutes <= 24 * 60 else None


def guide_name(title: str, fallback: str) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+", title.casefold()) if w and w not in _TITLE_NOISE]
    name = "-".join(words)[:60].strip("-")
    if not re.match(NAME_PATTERN, name):
        name = re.sub(r"[^a-z0-9]+", "-", fallback.casefold()).strip("-")[:60].strip("-") or "runbook"
    return name


def _service_name(raw: str) -> str | None:
    name = re.sub(r"[^a-z0-9-]+", "-", raw.casefold()).strip("-")[:63].strip("-")
    return name if re.match(NAME_PATTERN, name) else None


def _overlap(a: str, b: str) -> int:
    return len(set(re.split(r"[^a-z0-9]+", a.casefold())) & set(re.split(r"[^a-z0-9]+", b.casefold())) - {""})


@dataclass
class _Services:
    """Turns what commands act on into catalog service names, proposing the services it has to."""

    catalog: Catalog | None
    default_namespace: str
    proposed: dict[str, dict[str, Any]] = field(default_factory=dict)
    compose: dict[str, dict[str, Any]] = field(default_factory=dict)
    main: str | None = None

    def known(self) -> dict[str, tuple[str | None, str | None]]:
        """Every service name → (namespace, deployment), from the catalog and from the proposals."""
        out: dict[str, tuple[str | None, str | None]] = {}
        if self.catalog is not None:
            out |= {
                n: (s.kubernetes.namespace, s.kubernetes.deployment)
                for n, s in self.catalog.services.items()
                if s.kubernetes is not None
            }
        out |= {n: (p["namespace"], p["deployment"]) for n, p in self.proposed.items() if "deployment" in p}
        return out

    def _existing(self, name: str) -> Service | None:
        return None if self.catalog is None else self.catalog.services.get(name)

    def _add(self, name: str, key: str, value: Any) -> None:
        existing = self._existing(name)
        # Deployment keys live under the service's `kubernetes:` target (top-level ones are lifted there).
        holder = existing.kubernetes if existing is not None and key in LEGACY_KUBERNETES_KEYS else existing
        if holder is not None and getattr(holder, key, None):
            return  # the catalog already says it; the reviewer keeps theirs
        in_compose = name in self.compose and name not in self.proposed and existing is None
        entry = self.compose[name] if in_compose else self.proposed.setdefault(name, {})
        if isinstance(value, list):
            entry.setdefault(key, [])
            entry[key] += [v for v in value if v not in entry[key]]
        else:
            entry.setdefault(key, value)

    def deployment(self, name: str, namespace: str | None) -> str:
        namespace = namespace or self.default_namespace
        for service, (ns, deployment) in self.known().items():
            if deployment == name and (ns == namespace or namespace is None):
                return service
        service = _service_name(name) or "service"
        if self._existing(service) is None:
            self._add(service, "namespace", namespace)
            self._add(service, "deployment", name)
        return service

    def compose_service(self, s: Subject) -> str:
        assert s.name is not None
        name = _service_name(s.name) or "service"
        entry = self.compose.setdefault(name, {"service": s.name})
        if s.namespace:
            entry.setdefault("project", s.namespace)
        if s.detail:
            entry.setdefault("file", s.detail)
        return name

    def by_words(self, words: str, namespace: str | None = None) -> str | None:
        """The known service sharing most words with `words` (a DB, HPA or ConfigMap name), else None."""
        scored = sorted(
            (
                (_overlap(words, f"{n} {d or ''}"), n)
                for n, (ns, d) in self.known().items()
                if ns == namespace or not namespace
            ),
            reverse=True,
        )
        if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            return scored[0][1]
        return None

    def resolve(self, verdict: Verdict, notes: list[str]) -> str:
        """The service for a mapped step, or a `{placeholder}` for the on-call to fill in."""
        s = verdict.subject
        if s.kind == "deployment" and s.name:
            if not re.match(NAME_PATTERN, s.name):
                notes.append(f"`{s.name[:60]}` is not a deployment name: choose the service")
                return "{service}"
            return self.deployment(s.name, s.namespace)
        if s.kind == "compose" and s.name:
            return self.compose_service(s)
        if s.kind == "selector" and s.name:
            for pair in s.name.split(","):
                _, _, value = pair.partition("=")
                for service, (_, deployment) in self.known().items():
                    if value and value in (service, deployment):
                        return service
            notes.append(f"pods picked by the label `{s.name}`: choose the service")
            return "{service}"
        if s.kind == "selector" and s.detail:
            return self._owner_of(verdict, s.detail, notes)
        if s.kind in ("database", "redis"):
            return self._backing(verdict, s, notes)
        if s.kind in ("url", "prometheus") and s.name:
            return self._checked(verdict, s, notes)
        if s.placeholder:
            return "{" + s.placeholder + "}"
        if s.kind == "pod" and s.name:
            notes.append(f"the runbook names the pod `{s.name}`: choose its service")
        return "{service}"

    def _owner_of(self, verdict: Verdict, object_name: str, notes: list[str]) -> str:
        """The service an HPA or a maintenance ConfigMap belongs to."""
        candidates: list[str] = []
        if self.catalog is not None:
            for name, known in self.catalog.services.items():
                k8s = known.kubernetes
                if k8s is not None and (
                    k8s.hpa == object_name or getattr(k8s.maintenance, "configmap", None) == object_name
                ):
                    candidates.append(name)
        candidates.sort(key=lambda n: -_overlap(n, object_name))
        service = candidates[0] if candidates else self.by_words(object_name) or self.main
        if service is None:
            notes.append(f"`{object_name}` belongs to a service the runbook does not name: choose it")
            return "{service}"
        if verdict.fields.get("max_replicas"):
            self._add(service, "hpa", object_name)
        elif verdict.fields.get("maintenance_key"):
            key = verdict.fields["maintenance_key"]
            self._add(service, "maintenance", {"kind": "configmap", "configmap": object_name, "key": key})
        if not candidates:
            notes.append(f"`{object_name}` assumed to belong to {service}")
        return service

    def _backing(self, verdict: Verdict, s: Subject, notes: list[str]) -> str:
        """The service whose database or Redis a psql / redis-cli line talks to."""
        service = None
        if s.detail:
            service = self.by_words(s.detail, s.namespace) or self.by_words(s.detail)
        service = service or self.main
        if service is None:
            return "{service}"
        notes.append(f"the {'database' if s.kind == 'database' else 'Redis'} of {service}")
        env = re.sub(r"[^A-Z0-9]+", "_", service.upper())
        if s.kind == "database":
            self._add(service, "postgres_dsn_env", f"{env}_DATABASE_URL")
        else:
            self._add(service, "redis_url_env", f"{env}_REDIS_URL")
            if verdict.fields.get("key"):
                self._add(service, "queues", [verdict.fields["key"]])
        return service

    def _checked(self, verdict: Verdict, s: Subject, notes: list[str]) -> str:
        assert s.name is not None
        if self.catalog is not None:
            for name, service in self.catalog.services.items():
                if s.kind == "url" and service.health_url == s.name:
                    return name
                if s.kind == "prometheus" and any(c.query == s.name for c in service.prometheus):
                    return name
        if s.kind == "url":
            for name, entry in [*self.proposed.items(), *self.compose.items()]:
                if entry.get("health_url") == s.name:
                    return name
            free = [n for n in ([self.main] if self.main else []) if not self._has_health(n)]
            if not free:
                notes.append(f"health URL {s.name}: choose the service it belongs to")
                return "{service}"
            self._add(free[0], "health_url", s.name)
            notes.append(f"{s.name} proposed as the health_url of {free[0]}")
            return free[0]
        if self.main is None:
            return "{service}"
        check = {"name": _check_name(s.name), "query": s.name}
        self._add(self.main, "prometheus", [check])
        notes.append(f"the query is proposed as a Prometheus check of {self.main}")
        return self.main

    def _has_health(self, name: str) -> bool:
        existing = self._existing(name)
        proposed = self.proposed.get(name) or self.compose.get(name) or {}
        return bool((existing and existing.health_url) or proposed.get("health_url"))


def _check_name(query: str) -> str:
    metric = re.search(r"[a-zA-Z_:][a-zA-Z0-9_:]*", query.split("(")[-1] if "(" in query else query)
    return (metric.group(0) if metric else query)[:60]


def _phase(label: markdown.Label | None, destructive: bool) -> Phase:
    if label == "immediate":
        return "immediate"
    if label == "diagnosis" and not destructive:
        return "diagnosis"
    if label == "resolution":
        return "resolution"
    return "resolution" if destructive else "diagnosis"


def _destructive(procedure: str, procedures: Mapping[str, Procedure]) -> bool:
    if procedure in procedures:
        return procedures[procedure].destructive
    template = PROCEDURE_TEMPLATES.get(procedure, {})
    return bool(template.get("destructive", False))


def _namespaces(
    commands: list[tuple[markdown.RawSection, markdown.CommandLine, list[Verdict]]],
) -> tuple[str, list[str]]:
    namespaces: collections.Counter[str] = collections.Counter()
    deployments: collections.Counter[str] = collections.Counter()
    for _, _, verdicts in commands:
        for v in verdicts:
            if v.subject.namespace and "__param_" not in v.subject.namespace and v.subject.kind != "compose":
                namespaces[v.subject.namespace] += 1
            if v.outcome == "mapped" and v.subject.kind in ("deployment", "compose") and v.subject.name:
                deployments[v.subject.name] += 1
    default = namespaces.most_common(1)[0][0] if namespaces else "default"
    return default, [name for name, _ in deployments.most_common()]


def import_runbook(
    text: str,
    *,
    source: str,
    procedures: Mapping[str, Procedure],
    catalog: Catalog | None = None,
    name: str | None = None,
) -> ImportResult:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RUNBOOK_BYTES:
        raise RunbookRefused(f"{source}: larger than {MAX_RUNBOOK_BYTES // 1_000_000} MB; split the runbook")
    document = markdown.parse(text)
    classified = [
        (section, command, classify(command.text)) for section in document.sections for command in section.commands
    ]
    default_namespace, by_use = _namespaces(classified)
    services = _Services(catalog, default_namespace)
    for deployment_name in by_use:  # the most used deployment is the runbook's main service
        subject = next(
            v.subject
            for _, _, vs in classified
            for v in vs
            if v.subject.name == deployment_name and v.subject.kind in ("deployment", "compose")
        )
        if subject.kind == "deployment":
            services.main = services.deployment(deployment_name, subject.namespace)
        else:
            services.main = services.compose_service(subject)
        break
    lines: list[LineReport] = []
    made: list[tuple[markdown.RawSection, markdown.CommandLine, str, list[GuideStep]]] = []
    needed: dict[str, dict[str, Any]] = {}
    for section, command, verdicts in classified:
        source_text = restore(command.text)[:2000]
        if any(v.outcome != "mapped" for v in verdicts):
            refused = next(v for v in verdicts if v.outcome != "mapped")
            lines.append(LineReport(section.title, command.line, source_text, refused.outcome, refused.reason))
            continue
        steps: list[GuideStep] = []
        for verdict in verdicts:
            assert verdict.procedure is not None
            notes = list(verdict.notes)
            service = services.resolve(verdict, notes)
            if verdict.procedure in PROCEDURE_TEMPLATES and verdict.procedure not in procedures:
                needed[verdict.procedure] = PROCEDURE_TEMPLATES[verdict.procedure]
            steps.append(
                GuideStep(
                    title=command.title or section.title,
                    phase=_phase(command.label, _destructive(verdict.procedure, procedures)),
                    procedure=verdict.procedure,
                    args=verdict.args.replace("{service}", service)[:500],
                    source=source_text,
                    note="; ".join(dict.fromkeys(notes))[:500],
                )
            )
        made.append((section, command, source_text, steps))
    fits = _catalog_check(catalog, services, procedures)
    steps_of: dict[int, list[GuideStep]] = collections.defaultdict(list)
    for section, command, source_text, steps in made:
        problem = next((p for p in map(fits, steps) if p), None)
        if problem:
            lines.append(LineReport(section.title, command.line, source_text, "no_action", problem))
            continue
        steps_of[id(section)] += steps
        lines.append(
            LineReport(section.title, command.line, source_text, "mapped", "", tuple(s.command_text() for s in steps))
        )
    lines.sort(key=lambda line: line.line)
    guide = Guide(
        name=name or guide_name(document.title, Path(source).stem),
        title=document.title[:150],
        source=Path(source).name,
        contacts=document.contacts[:30],
        sections=_sections(document, steps_of),
    )
    return ImportResult(guide, services.proposed, services.compose, needed, lines, document.other_blocks)


def _catalog_check(
    catalog: Catalog | None, services: _Services, procedures: Mapping[str, Procedure]
) -> Callable[[GuideStep], str | None]:
    """With a catalog: why a step would not parse against it plus the proposed services (None = it fits).

    Steps on compose services and on procedures that are not built in wait for the compose targets,
    so they are not checked here.
    """
    if catalog is None:
        return lambda step: None
    merged: dict[str, Service] = dict(catalog.services)
    for name, entry in services.proposed.items():
        base = catalog.services[name].model_dump() if name in catalog.services else {}
        try:
            merged[name] = Service.model_validate({**base, **entry})
        except ValidationError:
            continue  # the proposal file reports it
    with_proposals = catalog.model_copy(update={"services": merged})

    def fits(step: GuideStep) -> str | None:
        if step.procedure not in procedures or set(step.args.split()) & set(services.compose):
            return None
        problem = step_problem(step, procedures, with_proposals)
        return f"does not fit the catalog: {problem}" if problem else None

    return fits


def _sections(document: markdown.Document, steps_of: Mapping[int, list[GuideStep]]) -> list[Section]:
    sections: list[Section] = []
    seen: collections.Counter[str] = collections.Counter()
    for raw in document.sections:
        steps = steps_of.get(id(raw), [])
        if not (steps or raw.symptoms):
            continue
        title = raw.title[:140]
        seen[title.casefold()] += 1
        if seen[title.casefold()] > 1:
            title = f"{title} ({seen[title.casefold()]})"
        escalation = None
        if raw.escalation or raw.escalation_contacts:
            text = " ".join(raw.escalation)[:1000]
            escalation = Escalation(
                text=text,
                after_minutes=time_limit_minutes(" ".join([text, *raw.escalation_contacts])),
                contacts=raw.escalation_contacts[:20],
            )
        sections.append(Section(title=title, symptoms=raw.symptoms[:30], steps=steps, escalation=escalation))
    if not sections:
        sections.append(Section(title=document.title[:140] or "Runbook"))
    return sections
