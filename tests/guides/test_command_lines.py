"""Each command family a runbook uses → the procedure it maps to, or the reason it is not imported."""

from __future__ import annotations

import pytest

from bot.guides.commands import classify
from bot.guides.mappings import BUILT_IN_STEPS, PROCEDURE_TEMPLATES, RULES
from tests.guides.helpers import PROCEDURES


def _one(line: str) -> tuple[str, str]:
    verdicts = classify(line)
    assert len(verdicts) == 1, verdicts
    v = verdicts[0]
    return (v.outcome, f"{v.procedure} {v.args}".strip() if v.outcome == "mapped" else v.reason)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("kubectl scale deployment api --replicas=5 -n prod", "scale {service} 5"),
        ("kubectl scale deploy/api --replicas 5", "scale {service} 5"),
        ("kubectl scale deployment api -n prod", "scale {service} {replicas}"),
        ("kubectl rollout restart deployment/api -n prod", "restart {service}"),
        ("kubectl rollout undo deployment/api --to-revision=4", "rollback {service} --revision 4"),
        ("kubectl rollout undo deployment/api", "rollback {service}"),
        ("kubectl rollout status deployment/api --timeout=300s", "status {service}"),
        ("kubectl rollout history deployment/api", "rollout-history {service}"),
        ("kubectl set env deployment/api LOG_LEVEL=debug", "set-env {service} LOG_LEVEL debug"),
        ("kubectl set env deployment/api MAINTENANCE_MODE=true", "maintenance on {service}"),
        ("kubectl set env deployment/api MAINTENANCE_MODE=false", "maintenance off {service}"),
        ("""kubectl patch hpa api-hpa -p '{"spec":{"minReplicas":2,"maxReplicas":9}}'""", "hpa-max {service} 2 9"),
        ("""kubectl patch configmap web -p '{"data":{"MAINTENANCE_MODE":"true"}}'""", "maintenance on {service}"),
        ("kubectl logs deployment/api --tail=20 --since=2h", "logs {service} 20 --since 2h"),
        ("kubectl logs -f -l app=api -c web", "logs {service} --container web"),
        ("kubectl top pods -l app=api", "top {service}"),
        ("kubectl get pods -l app=api -o wide", "pods {service}"),
        ("kubectl describe deployment api", "status {service}"),
        ("kubectl delete pods -l app=api", "delete-pods {service}"),
        ("kubectl exec -it db-0 -- psql -c 'SELECT count(*) FROM pg_stat_activity;'", "db-connections {service}"),
        (
            'psql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity'
            " WHERE query_start < now() - interval '9 minutes'\"",
            "kill-long-queries {service} 9",
        ),
        (
            'psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity'
            " WHERE query_start < now() - interval '5 minutes';\"",
            "kill-long-queries {service} 5",
        ),
        ("docker-compose exec redis redis-cli llen bull:jobs:waiting", "queue-depth {service}"),
        ("kubectl exec deploy/redis -- redis-cli LLEN q", "queue-depth {service}"),
        ("docker-compose -f prod.yml -p shop restart api", "restart {service}"),
        ("docker compose logs --tail=30 --since 10m api", "logs {service} 30 --since 10m"),
        ("docker-compose ps", "ps {service}"),
        ("docker-compose up -d --scale worker=3", "scale {service} 3"),
        ("curl -f https://api.example.com/health", "health {service}"),
        ("curl -s 'http://prom:9090/api/v1/query?query=up%7Bjob%3D%22api%22%7D'", "health {service}"),
        ("kubectl get pods | grep -v Running", "pods {service}"),
        ("curl -f https://x.example.com/healthz || echo DOWN", "health {service}"),
    ],
)
def test_command_maps_to_procedure(line: str, expected: str) -> None:
    assert _one(line) == ("mapped", expected)


@pytest.mark.parametrize(
    ("line", "outcome", "reason_has"),
    [
        ("kubectl exec -it api-0 -- /bin/sh", "unsafe", "interactive shell"),
        ("kubectl exec -it api-0 -- npm run reindex", "unsafe", "npm run reindex"),
        ("npm run cleanup", "unsafe", "script"),
        ("./scripts/rollback.sh previous", "unsafe", "script"),
        ("redis-cli --scan --pattern 'a:*' | xargs redis-cli DEL", "unsafe", "xargs"),
        ("redis-cli FLUSHALL", "unsafe", "every Redis database"),
        ("kubectl exec redis-0 -- redis-cli flushdb", "unsafe", "empties"),
        ("rm -rf /tmp/export-*", "unsafe", "deletes files"),
        ("find /tmp -name '*.tmp' -delete", "unsafe", "deletes"),
        ("psql -c 'DELETE FROM users;'", "unsafe", "arbitrary SQL"),
        ("psql -c 'VACUUM FULL;'", "unsafe", "arbitrary SQL"),
        ("psql < restore.sql", "unsafe", "redirects"),
        ("kubectl logs deploy/api > out.txt", "unsafe", "redirects"),
        ("echo $(cat /etc/passwd)", "unsafe", "nested command"),
        ("kubectl get pods `whoami`", "unsafe", "nested command"),
        ("kubectl get secret db -o yaml", "unsafe", "secret"),
        ("kubectl apply -f manifest.yaml", "unsafe", "manifest"),
        ("curl -X POST https://hooks.example.com -d '{}'", "unsafe", "sends data"),
        ("curl -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/me", "unsafe", "credentials"),
        ("echo $DB_PASSWORD", "unsafe", "secret"),
        ("kubectl scale deployment api --replicas=3 &", "unsafe", "background"),
        ("kubectl get nodes", "no_action", "lists this kind"),
        ("kubectl top nodes", "no_action", "node metrics"),
        ("redis-cli DEL export:queue", "no_action", "deleting keys"),
        ("redis-cli ping", "no_action", "ping"),
        ("docker-compose restart", "no_action", "every service"),
        ("kubectl delete pod api-7d9-abc", "no_action", "named pod"),
        ("kubectl rollout restart deployment/a && kubectl rollout restart deployment/b", "no_action", "split them"),
        ("kubectl get pods 'unclosed", "no_action", "quote"),
        ("htop", "no_action", "not a command the bot knows"),
    ],
)
def test_command_is_not_imported_with_the_reason(line: str, outcome: str, reason_has: str) -> None:
    got_outcome, reason = _one(line)
    assert got_outcome == outcome
    assert reason_has in reason


def test_quoted_shell_syntax_is_data_not_syntax() -> None:
    outcome, _ = _one('docker-compose logs api | grep -E "(401|403|429)"')
    assert outcome == "mapped"


def test_compose_restart_of_two_services_is_two_steps() -> None:
    verdicts = classify("docker-compose restart app worker")
    assert [(v.procedure, v.subject.name) for v in verdicts] == [("restart", "app"), ("restart", "worker")]


def test_placeholders_in_every_spelling_become_parameters() -> None:
    for line, name in [
        ("kubectl rollout restart deployment/<deployment-name> -n <namespace>", "deployment_name"),
        ("kubectl rollout restart deployment/$DEPLOYMENT", "deployment"),
        ("kubectl rollout restart deployment/${SVC}", "svc"),
    ]:
        (verdict,) = classify(line)
        assert verdict.subject.placeholder == name


def test_every_rule_maps_to_a_built_in_or_templated_procedure() -> None:
    targets = {r.procedure for r in RULES if r.procedure}
    assert targets <= set(PROCEDURES) | set(PROCEDURE_TEMPLATES) | BUILT_IN_STEPS
    assert all(r.reason for r in RULES if r.outcome != "mapped")
