"""What the composition root (bot/app.py) built, in one record: `stop()` closes it and tests reach into it.

No Slack surface or route receives it; each gets the few collaborators it uses, by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.actions.registry import ActionRegistry
from bot.catalog import Catalog
from bot.coord import Coordinator
from bot.followups import FollowUps
from bot.runbooks.engine import Clock, Engine
from bot.runbooks.model import Procedure
from bot.runbooks.policy import Policy
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.slack.webapi import SlackWebApi
from bot.store.db import Database
from bot.store.executions import PostgresExecutionStore
from bot.tasks import TaskOwner


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    procedures: Mapping[str, Procedure]
    registry: ActionRegistry
    db: Database
    coord: Coordinator
    slack: SlackWebApi
    policy: Policy
    executions: PostgresExecutionStore
    engine: Engine
    tasks: TaskOwner
    followups: FollowUps
    scheduler: Scheduler
    clock: Clock
    replica_id: str
