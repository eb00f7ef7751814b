"""What each runbook command becomes: the importer's mapping table, as data.

A rule matches a tool (`kubectl`, `compose`, `psql`, `redis-cli`, `curl`, …) and the leading words of
its command (resource kinds normalised: `deploy/x` → `deployment x`). It either maps to a procedure,
with an argument template, or says why the line is not imported. The first matching rule wins, so
specific rules come before general ones. To support a new command, add a rule here (and, when the
procedure does not exist yet, its YAML under `PROCEDURE_TEMPLATES`).

Templates: `{field}` is a value read from the command (`{service}` is where the catalog service
goes); `[ … ]` is dropped when a field inside it is missing. A required field the runbook left out
becomes a `{placeholder}` the on-call fills in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["mapped", "no_action", "unsafe"]
COMPOSE_NOTE = "compose service: runs once the compose actions (compose.*) are in the registry"


@dataclass(frozen=True)
class Rule:
    tool: str
    words: tuple[str, ...]  # the command's leading words, after normalisation
    outcome: Outcome = "mapped"
    procedure: str | None = None
    args: str = "{service}"
    needs: tuple[str, ...] = ()  # the rule applies only when these fields were read
    refuses: tuple[str, ...] = ()  # … and only when these were not
    reason: str = ""  # why not imported, or a note for the reviewer on a mapped line


def mapped(tool: str, words: tuple[str, ...], procedure: str, args: str = "{service}", **kw: Any) -> Rule:
    return Rule(tool, words, "mapped", procedure, args, **kw)


def no_action(tool: str, words: tuple[str, ...], reason: str, **kw: Any) -> Rule:
    return Rule(tool, words, "no_action", reason=reason, **kw)


def unsafe(tool: str, words: tuple[str, ...], reason: str, **kw: Any) -> Rule:
    return Rule(tool, words, "unsafe", reason=reason, **kw)


RULES: tuple[Rule, ...] = (
    # kubectl: deployments
    mapped("kubectl", ("scale", "deployment"), "scale", "{service} {replicas}"),
    mapped("kubectl", ("rollout", "restart", "deployment"), "restart"),
    mapped("kubectl", ("rollout", "undo", "deployment"), "rollback", "{service} [--revision {to_revision}]"),
    mapped(
        "kubectl",
        ("rollout", "status", "deployment"),
        "status",
        reason="`status` reads the rollout condition once; it does not wait",
    ),
    mapped("kubectl", ("rollout", "history", "deployment"), "rollout-history"),
    mapped("kubectl", ("set", "env", "deployment"), "maintenance", "{mode} {service}", needs=("mode",)),
    mapped("kubectl", ("set", "env", "deployment"), "set-env", "{service} {variable} [{value}]", needs=("variable",)),
    mapped("kubectl", ("patch", "hpa"), "hpa-max", "{service} {min_replicas} {max_replicas}", needs=("max_replicas",)),
    mapped("kubectl", ("patch", "configmap"), "maintenance", "{mode} {service}", needs=("mode",)),
    no_action("kubectl", ("patch", "configmap"), "only the maintenance key of a ConfigMap has a procedure"),
    unsafe("kubectl", ("patch",), "patches an arbitrary part of an object's spec"),
    mapped("kubectl", ("logs",), "logs", "{service} [{tail}] [--since {since}] [--container {container}]"),
    mapped("kubectl", ("top", "pods"), "top"),
    no_action("kubectl", ("top", "nodes"), "no action reads node metrics yet"),
    mapped("kubectl", ("get", "pods"), "pods"),
    mapped("kubectl", ("get", "deployment"), "status"),
    mapped("kubectl", ("describe", "deployment"), "status"),
    unsafe("kubectl", ("get", "secret"), "prints the secret's values"),
    unsafe("kubectl", ("describe", "secret"), "shows the secret's keys"),
    no_action("kubectl", ("get",), "no action lists this kind of object yet"),
    no_action("kubectl", ("describe",), "no action describes this kind of object yet"),
    mapped("kubectl", ("delete", "pods"), "delete-pods", needs=("selector",)),
    no_action("kubectl", ("delete", "pods"), "deleting one named pod has no action yet (delete-pods takes all)"),
    unsafe("kubectl", ("delete",), "deletes objects"),
    unsafe("kubectl", ("apply",), "applies a manifest the bot cannot review"),
    unsafe("kubectl", ("create",), "creates objects from input the bot cannot review"),
    unsafe("kubectl", ("replace",), "replaces objects from input the bot cannot review"),
    unsafe("kubectl", ("edit",), "opens an editor on a live object"),
    unsafe("kubectl", ("set", "image"), "deploys an image; deployments go through the delivery pipeline"),
    unsafe("kubectl", ("cp",), "copies files out of or into a container"),
    unsafe("kubectl", ("drain",), "evicts every pod of a node"),
    unsafe("kubectl", ("cordon",), "takes a node out of scheduling"),
    unsafe("kubectl", ("run",), "starts a pod running an arbitrary command"),
    unsafe("kubectl", ("exec",), "runs an arbitrary command in a container"),
    no_action("kubectl", ("port-forward",), "port forwarding is interactive; no action for it"),
    no_action("kubectl", (), "no action does this kubectl command yet"),
    # docker-compose and `docker compose` (the compose actions come with the compose targets)
    mapped("compose", ("restart",), "restart", needs=("service",), reason=COMPOSE_NOTE),
    no_action("compose", ("restart",), "restarts every service of the project; name one"),
    mapped(
        "compose",
        ("logs",),
        "logs",
        "{service} [{tail}] [--since {since}]",
        needs=("service",),
        reason=COMPOSE_NOTE,
    ),
    no_action("compose", ("logs",), "logs of every service at once; name one"),
    mapped("compose", ("ps",), "ps", reason=COMPOSE_NOTE),
    mapped("compose", ("up",), "scale", "{service} {replicas}", needs=("replicas",), reason=COMPOSE_NOTE),
    unsafe("compose", ("up",), "creates or recreates containers from the compose file"),
    no_action("compose", ("stop",), "no compose stop procedure yet"),
    no_action("compose", ("start",), "no compose start procedure yet"),
    unsafe("compose", ("exec",), "runs an arbitrary command in a container"),
    unsafe("compose", ("run",), "starts a container running an arbitrary command"),
    unsafe("compose", ("down",), "stops and removes the project's containers"),
    unsafe("compose", ("rm",), "removes containers"),
    no_action("compose", (), "no action does this compose command yet"),
    # docker
    no_action("docker", ("stats",), "no action reads container statistics yet"),
    unsafe("docker", ("system", "prune"), "deletes containers, images and networks"),
    unsafe("docker", ("volume", "prune"), "deletes volumes and their data"),
    unsafe("docker", ("rm",), "removes containers"),
    unsafe("docker", ("rmi",), "removes images"),
    unsafe("docker", ("build",), "builds images; that belongs to the delivery pipeline"),
    unsafe("docker", ("push",), "publishes images; that belongs to the delivery pipeline"),
    no_action("docker", (), "no action does this docker command yet"),
    # PostgreSQL: psql -c "SQL", inside kubectl exec or docker-compose exec too
    mapped(
        "psql",
        ("kill-queries",),
        "kill-long-queries",
        "{service} [{minutes}]",
        reason="the bot cancels (pg_cancel_backend) queries older than the limit",
    ),
    mapped("psql", ("count-connections",), "db-connections"),
    no_action("psql", ("list-activity",), "listing running queries has no action yet (db-connections counts them)"),
    unsafe("psql", ("sql",), "arbitrary SQL; write a procedure for it if it is needed"),
    no_action("psql", (), "an interactive psql session"),
    mapped("pg_isready", (), "db-connections", reason="db-connections connects, so it answers whether the DB is up"),
    unsafe("pg_dump", (), "dumps the whole database"),
    # Redis: redis-cli COMMAND, inside kubectl exec or docker-compose exec too
    mapped("redis-cli", ("llen",), "queue-depth", reason="the key is proposed as one of the service's queues"),
    unsafe("redis-cli", ("flushall",), "empties every Redis database"),
    unsafe("redis-cli", ("flushdb",), "empties the Redis database"),
    no_action("redis-cli", ("del",), "deleting keys has no action yet"),
    no_action("redis-cli", ("ping",), "no Redis ping action yet (the health report checks Redis)"),
    no_action("redis-cli", ("info",), "no Redis info action yet (the health report checks Redis memory)"),
    no_action("redis-cli", (), "no action does this Redis command yet"),
    # HTTP
    unsafe("curl", ("send",), "sends data or credentials to an API"),
    mapped("curl", ("prometheus",), "health"),
    mapped("curl", ("health",), "health"),
    no_action("curl", (), "reads an arbitrary URL; no action for it"),
    # everything else people put in runbooks
    unsafe("script", (), "runs a script the bot cannot inspect"),
    unsafe("npm", (), "runs a project script the bot cannot inspect"),
    unsafe("yarn", (), "runs a project script the bot cannot inspect"),
    unsafe("python", (), "runs code the bot cannot inspect"),
    unsafe("node", (), "runs code the bot cannot inspect"),
    unsafe("bash", (), "runs a shell"),
    unsafe("sh", (), "runs a shell"),
    unsafe("rm", (), "deletes files"),
    unsafe("find", ("delete",), "deletes or changes files"),
    unsafe("kill", (), "kills processes"),
    unsafe("certbot", (), "changes certificates"),
    unsafe("echo", ("variable",), "prints a variable, which may hold a secret"),
    no_action("echo", (), "prints text only; nothing to run"),
)

# Procedures the table maps to that are not among the built-in commands/*.yml: the importer writes
# these files into its output when a runbook needs them (they load once their actions exist).
PROCEDURE_TEMPLATES: dict[str, dict[str, Any]] = {
    "ps": {
        "name": "ps",
        "summary": "Containers of a compose service with their state (docker-compose ps)",
        "params": [{"name": "service", "type": "service"}],
        "roles": ["viewer"],
        "examples": ["ps newsletter-app"],
        "steps": [{"action": "compose.ps", "title": "list containers", "timeout_seconds": 15}],
    },
}
# Built in to `/runbook` (not a procedure file) and allowed as a guide step.
BUILT_IN_STEPS = frozenset({"health"})


def rules_for(tool: str) -> list[Rule]:
    return [r for r in RULES if r.tool == tool]
