"""Where syncer writes: ``store.state_dir``, else ``$SYNCER_STATE_DIR``, else the config's
folder, for a relative SQLite path and the git mirrors; the sources' own paths stay
relative to the config."""

from __future__ import annotations

from pathlib import Path

from syncer.config import loader
from syncer.config.settings import Settings

SOURCES = """
sources:
  - name: docs
    type: filesystem
    path: docs
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    (tmp_path / "docs").mkdir(exist_ok=True)
    return loader.loads(text + SOURCES, base_dir=tmp_path, env=env or {})


def test_without_a_state_folder_a_relative_store_sits_beside_the_config(tmp_path: Path) -> None:
    settings = _load(tmp_path, "store:\n  url: sqlite:///syncer.db\n")
    assert settings.store.state_dir is None
    assert settings.store.url == f"sqlite:///{tmp_path / 'syncer.db'}"
    assert settings.cache_dir == tmp_path / ".syncer-cache"


def test_the_environment_names_the_state_folder_of_a_container(tmp_path: Path) -> None:
    state = tmp_path / "var" / "lib" / "syncer"
    settings = _load(
        tmp_path, "store:\n  url: sqlite:///syncer.db\n", {"SYNCER_STATE_DIR": str(state)}
    )
    assert settings.store.state_dir == state
    assert settings.store.url == f"sqlite:///{state / 'syncer.db'}"
    assert settings.cache_dir == state / ".syncer-cache"
    # What the config points at is still read from beside it.
    assert settings.sources[0].model_dump()["path"] == tmp_path / "docs"
    # An absolute store path is where it says.
    settings = _load(
        tmp_path, "store:\n  url: sqlite:////srv/store.db\n", {"SYNCER_STATE_DIR": str(state)}
    )
    assert settings.store.url == "sqlite:////srv/store.db"


def test_the_config_may_name_its_own_state_folder(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "store:\n  state_dir: state\n  url: sqlite:///data/syncer.db\n",
        {"SYNCER_STATE_DIR": "/var/lib/syncer"},
    )
    assert settings.store.state_dir == tmp_path / "state"
    assert settings.store.url == f"sqlite:///{tmp_path / 'state' / 'data' / 'syncer.db'}"


def test_a_postgres_store_keeps_its_mirrors_in_the_state_folder(tmp_path: Path) -> None:
    url = "store:\n  url: postgresql+psycopg://syncer@db/syncer\n"
    settings = _load(tmp_path, url, {"SYNCER_STATE_DIR": str(tmp_path / "state")})
    assert settings.store.url == "postgresql+psycopg://syncer@db/syncer"
    assert settings.cache_dir == tmp_path / "state" / ".syncer-cache"
    assert _load(tmp_path, url).cache_dir == Path.home() / ".cache" / "syncer"
