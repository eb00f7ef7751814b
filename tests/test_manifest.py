"""manifest.yml is a valid Slack app manifest and matches the commands the app answers."""

from __future__ import annotations

import json

import jsonschema
import yaml

from bot.settings import PROJECT_ROOT
from sandbox.slack_client import SlackUser

# Slack's published manifest schema (slackapi/manifest-schema, MIT: LICENSE-manifest-schema beside it),
# vendored so the test runs on a clone with nothing beside it.
SCHEMA = PROJECT_ROOT / "tests" / "fixtures" / "slack" / "manifest.schema.1.0.0.json"


def _manifest() -> dict[str, object]:
    data = yaml.safe_load((PROJECT_ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(_manifest(), schema)


def test_interactivity_and_commands_point_at_slack_events() -> None:
    manifest = _manifest()
    settings = manifest["settings"]
    assert isinstance(settings, dict)
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    for command in manifest["features"]["slash_commands"]:  # type: ignore[index]
        assert command["url"].endswith("/slack/events")


async def test_every_manifest_command_has_a_listener_and_no_other_command_does(alice: SlackUser) -> None:
    commands = [c["command"] for c in _manifest()["features"]["slash_commands"]]  # type: ignore[index]
    for command in commands:
        reply = await alice.slash_command("help", command=command)
        assert reply.status == 200, f"{command} has no listener"
    unknown = await alice.slash_command("help", command="/not-in-manifest")
    assert unknown.status == 404
