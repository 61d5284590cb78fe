"""Deployment to Google Cloud: a pure planner, an executor, and staging.

``plan(DeployConfig)`` returns the ordered ``Step``s (argv lists); ``Executor``
runs them idempotently; ``render_plan`` prints them (DRY_RUN); ``stage`` builds
``dist/<function>/``. ``python -m infra.deploy`` is what ``make deploy`` runs.
"""

from infra.deploy.config import DeployConfig
from infra.deploy.plan import plan
from infra.deploy.steps import Executor, Step, render_plan

__all__ = ["DeployConfig", "Executor", "Step", "plan", "render_plan"]
