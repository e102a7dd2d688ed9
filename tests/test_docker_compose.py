"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the real
CLI and settings: every command parses, every variable is one Sluice reads, secrets are only
references, and the dependency order brings up the schema before anything uses it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from api.cli import app
from worker.domain.config import load_config
from worker.domain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
SLUICE_SERVICES = ["migrate", "api", "worker", "beat", "flower"]
REFERENCE = re.compile(r"^\$\{[A-Z_]+(:?[-?][^}]*)?\}$")  #: ${VAR}, ${VAR:-default}, ${VAR:?msg}


def _sluice_command(service: str) -> Any:
    group: Any = typer.main.get_command(app)
    command = SERVICES[service]["command"]
    assert command[0] == "sluice", f"{service} does not run the sluice CLI"
    sub = group.commands.get(command[1])
    assert sub is not None, f"{service}: `sluice {command[1]}` is not a command"
    return sub


@pytest.mark.parametrize("service", ["migrate", "api", "worker", "beat"])
def test_each_sluice_service_runs_a_real_command_with_valid_options(service: str) -> None:
    command = SERVICES[service]["command"]
    sub = _sluice_command(service)
    # parse without invoking: unknown options or bad values raise a usage error
    sub.make_context(command[1], list(command[2:]))


def test_flower_points_at_the_real_celery_app() -> None:
    command = SERVICES["flower"]["command"]
    app_path = command[command.index("--app") + 1]
    module_name, _, attribute = app_path.partition(":")
    module = __import__(module_name, fromlist=["app"])
    assert hasattr(module, attribute or "app")
    assert "flower" in command


def test_environment_names_only_variables_sluice_and_the_sdks_read() -> None:
    known = {f"SLUICE_{name.upper()}" for name in Settings.model_fields}
    known |= {provider.api_key_env for provider in load_config().providers.values()}
    known |= {"ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"}
    for service in SLUICE_SERVICES:
        env = SERVICES[service]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{service} sets variables nothing reads: {unknown}"
        assert {"SLUICE_DATABASE_URL", "SLUICE_REDIS_URL"} <= set(env)


def test_no_secret_is_written_in_the_file() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("KEY", "PASSWORD", "SECRET", "TOKEN")):
                assert REFERENCE.match(str(value)), f"{name}.{key} must be ${{VAR}}, not a value"
    url = SERVICES["worker"]["environment"]["SLUICE_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD" in url


def test_schema_comes_first_and_workers_scale() -> None:
    for service in ("api", "worker", "beat"):
        needs = SERVICES[service]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["redis"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"
    worker = SERVICES["worker"]
    # --scale needs no fixed name and no host port
    assert "container_name" not in worker and "ports" not in worker
    # docker's grace covers Sluice's own: in-flight calls finish, the rest are handed back
    grace_s = load_config().worker.shutdown_grace_s
    assert int(worker["stop_grace_period"].rstrip("s")) >= grace_s + 10


def test_images_are_built_from_this_repository() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    for package in ("worker", "api", "simulator", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile
    for service in SLUICE_SERVICES:
        assert SERVICES[service]["build"] == "."
    assert 'sluice = "api.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_a_configured_config_path_is_mounted_into_the_containers() -> None:
    for service in SLUICE_SERVICES:
        mounts = SERVICES[service]["volumes"]
        assert "./config:/etc/sluice:ro" in mounts
    assert (ROOT / "config").is_dir()
