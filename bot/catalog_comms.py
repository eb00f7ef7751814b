"""The catalog's `comms:` section: which roles may read, declare, update, resolve, schedule and cancel.

Only pydantic and the standard library here, because `bot.catalog` imports this
module (anything heavier would be an import cycle). `bot.runbooks.policy` evaluates it.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field

RoleNames = list[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncidentRules(_Model):
    read: RoleNames = Field(default=["viewer"], min_length=1)  # /incident list, /incident timeline
    declare: RoleNames = Field(default=["viewer"], min_length=1)
    # Besides the incident's own lead, who may always post updates, snooze reminders and resolve.
    update: RoleNames = Field(default=["incident"], min_length=1)
    resolve: RoleNames = Field(default=["incident"], min_length=1)
    # The person named as lead must hold one of these: reminders go to someone who can act on them.
    lead: RoleNames = Field(default=["viewer", "incident"], min_length=1)
    # Who may confirm what customers read on the status page (at request and at the Confirm click),
    # for incidents and for maintenance windows alike.
    publish: RoleNames = Field(default=["incident"], min_length=1)


class MaintenanceRules(_Model):
    read: RoleNames = Field(default=["viewer"], min_length=1)  # /maintenance list
    schedule: RoleNames = Field(default=["operator", "incident"], min_length=1)
    cancel: RoleNames = Field(default=["operator", "incident"], min_length=1)


class CommsConfig(_Model):
    incident: IncidentRules = IncidentRules()
    maintenance: MaintenanceRules = MaintenanceRules()

    def role_problems(self, known_roles: Collection[str]) -> list[str]:
        """Roles written in `comms:` that `roles:` does not define, as `comms.…` problems.

        Only what the catalog spells out is checked: a default may name a role (`incident`)
        a deployment does without, which then simply grants nothing.
        """
        problems = []
        for section_name in sorted(self.model_fields_set):
            section: BaseModel = getattr(self, section_name)
            for verb in sorted(section.model_fields_set):
                for role in getattr(section, verb):
                    if role not in known_roles:
                        problems.append(
                            f"comms.{section_name}.{verb}: {role!r} is not a role under 'roles'; "
                            "add it there (it may be empty) or fix the spelling"
                        )
        return problems
