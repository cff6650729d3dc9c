"""config.toml -> typed settings.

The keys documented in docs/config.md are a contract: a typo'd key is an error
(never silently ignored, or a user's `intreval = "1m"` would poll every 5
minutes without a word). Relative paths are relative to the config file, so the
daemon behaves the same whatever directory systemd starts it in. ``${VAR}`` is
expanded from the environment in string values only, after TOML parsing, so a
secret can never change the structure of the file.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_CONFIG = "config.toml"
ENV_CONFIG = "WATCHER_CONFIG"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_duration(value: str | int | float, *, what: str = "duration") -> timedelta:
    """``30s``, ``5m``, ``6h``, ``2d`` (also ``1w``, ``500ms``); a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration like '30s', '5m', '6h' or '2d', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{what}: expected a duration like '30s', '5m', '6h' or '2d', got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 0:
        raise ValueError(f"{what}: must not be negative, got {value!r}")
    return timedelta(seconds=seconds)


def parse_size(value: str | int, *, what: str = "size") -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size like '15MiB', got {value!r}")
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{what}: expected a size like '15MiB' or '500KB', got {value!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])


@dataclass(frozen=True)
class SourceConfig:
    name: str
    url: str | None = None
    path: Path | None = None
    interval: timedelta = timedelta(minutes=5)
    language: str | None = None  # forces the language of every item of this source
    enabled: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: timedelta = timedelta(seconds=30)
    max_bytes: int = 15 * 2**20
    max_redirects: int = 5
    allow_private_networks: bool = False

    @property
    def kind(self) -> str:
        return "http" if self.url else "path"

    @property
    def location(self) -> str:
        return self.url if self.url else str(self.path)


@dataclass(frozen=True)
class NotifyConfig:
    name: str
    url: str  # holds secrets: never log it, use apprise's privacy form
    tags: tuple[str, ...] = ("all",)
    digest: timedelta | None = None
    flood: int | None = None  # more hits than this in one cycle become one digest
    format: str | None = None  # text | html | markdown; default: what the service prefers
    title_template: str | None = None
    body_template: str | None = None
    throttle: timedelta | None = None  # least time between two sends; None: apprise's default for the service


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    rules: tuple[Path, ...]
    interval: timedelta = timedelta(minutes=5)
    sources: tuple[SourceConfig, ...] = ()
    notify: tuple[NotifyConfig, ...] = ()
    retention: timedelta | None = timedelta(days=90)
    retry_for: timedelta = timedelta(days=2)
    retry_initial: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    flood: int = 20
    max_text: int = 200_000
    regex_timeout: timedelta = timedelta(milliseconds=200)
    concurrency: int = 8
    per_host: int = 2
    jitter: float = 0.1
    workers: int = 2
    failure_alert_after: int = 5
    user_agent: str = "watcher (+https://github.com/watcher-alerts/watcher)"
    metrics: str | None = None
    shutdown_grace: timedelta = timedelta(seconds=8)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} in {self.path} (known: {known})")


_WATCHER_KEYS = {
    "database", "rules", "interval", "retention", "retry_for", "retry_initial", "retry_max", "flood",
    "max_text", "regex_timeout", "concurrency", "per_host", "jitter", "workers", "failure_alert_after",
    "user_agent", "metrics", "shutdown_grace", "timeout", "max_bytes", "max_redirects",
    "allow_private_networks",
}  # fmt: skip
_SOURCE_KEYS = {
    "name", "url", "path", "interval", "language", "enabled", "headers", "timeout", "max_bytes",
    "max_redirects", "allow_private_networks",
}  # fmt: skip
_NOTIFY_KEYS = {"name", "url", "tags", "digest", "flood", "format", "title_template", "body_template", "throttle"}
_TOP_KEYS = {"watcher", "source", "notify"}


class _Reader:
    """Reads one table of the TOML document, naming the exact key in every error."""

    def __init__(self, cfg_path: Path, where: str, table: Any, allowed: set[str]) -> None:
        self.cfg_path = cfg_path
        self.where = where
        if not isinstance(table, dict):
            self.fail(f"[{where}] must be a table")
        self.table: dict[str, Any] = table
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(f"unknown key {key!r} in [{where}]{hint}")

    def fail(self, message: str) -> None:
        raise ConfigError(f"{self.cfg_path}: {message}", hint="see docs/config.md for every key")

    def raw(self, key: str, default: Any = None) -> Any:
        return _expand(self.table.get(key, default), f"{self.where}.{key}", self.cfg_path)

    def str_(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(f"{self.where}.{key} must be a string, got {value!r}")
        return value  # type: ignore[no-any-return]

    def int_(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"{self.where}.{key} must be a whole number >= {minimum}, got {value!r}")
        return int(value)

    def bool_(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            self.fail(f"{self.where}.{key} must be true or false, got {value!r}")
        return bool(value)

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return parse_duration(value, what=f"{self.where}.{key}")
        except ValueError as exc:
            self.fail(str(exc))
            raise  # unreachable, for the type checker

    def size(self, key: str, default: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return parse_size(value, what=f"{self.where}.{key}")
        except ValueError as exc:
            self.fail(str(exc))
            raise

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{self.where}.{key} must be a list of strings, got {value!r}")
        return tuple(value)

    def path(self, key: str, default: str | None = None) -> Path | None:
        value = self.str_(key, default)
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.cfg_path.parent / p)


def _expand(value: Any, where: str, cfg_path: Path) -> Any:
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{cfg_path}: {where} uses ${{{name}}} but the environment variable {name} is not set",
                    hint=f"export {name}=... (or put it in the service's EnvironmentFile)",
                )
            return os.environ[name]

        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_expand(v, where, cfg_path) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", cfg_path) for k, v in value.items()}
    return value


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """--config wins, then ./config.toml, then $WATCHER_CONFIG."""
    if explicit:
        return Path(explicit)
    local = Path(DEFAULT_CONFIG)
    if local.exists():
        return local
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    return local


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    cfg_path = find_config(path).resolve() if path is None else Path(path).resolve()
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {cfg_path}", hint="pass --config PATH or set WATCHER_CONFIG"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path}: invalid TOML: {exc}") from None
    return parse_config(data, cfg_path)


def parse_config(data: dict[str, Any], cfg_path: Path) -> Config:
    top = _Reader(cfg_path, "top level", data, _TOP_KEYS)
    w = _Reader(cfg_path, "watcher", data.get("watcher", {}), _WATCHER_KEYS)
    interval = w.duration("interval", timedelta(minutes=5))
    if interval.total_seconds() < 1:
        w.fail("watcher.interval must be at least 1s")
    timeout = w.duration("timeout", timedelta(seconds=30))
    max_bytes = w.size("max_bytes", 15 * 2**20)
    max_redirects = w.int_("max_redirects", 5)
    allow_private = w.bool_("allow_private_networks", False)
    retention_raw = w.raw("retention", "90d")
    retention = None if retention_raw in ("never", "0", 0) else w.duration("retention", timedelta(days=90))

    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        top.fail("[[source]] entries must be written as an array of tables: [[source]]")
    sources: list[SourceConfig] = []
    for i, raw in enumerate(raw_sources, 1):
        r = _Reader(cfg_path, f"source #{i}", raw, _SOURCE_KEYS)
        name = r.str_("name")
        if not name:
            r.fail(f"source #{i} needs a name")
        assert name is not None
        r.where = f"source {name!r}"
        url, path = r.str_("url"), r.path("path")
        if bool(url) == bool(path):
            r.fail(f"source {name!r} needs exactly one of 'url' (a feed) or 'path' (a drop folder or file)")
        if url and not re.match(r"^https?://", url, re.IGNORECASE):
            r.fail(f"source {name!r}: url must start with http:// or https://, got {url!r}")
        if any(s.name == name for s in sources):
            r.fail(f"two sources are named {name!r}; names must be unique")
        headers = r.raw("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            r.fail(f"source {name!r}: headers must be a table of strings")
        src_interval = r.duration("interval", interval)
        if src_interval.total_seconds() < 1:
            r.fail(f"source {name!r}: interval must be at least 1s")
        sources.append(
            SourceConfig(
                name=name,
                url=url,
                path=path,
                interval=src_interval,
                language=r.str_("language"),
                enabled=r.bool_("enabled", True),
                headers=dict(headers),
                timeout=r.duration("timeout", timeout),
                max_bytes=r.size("max_bytes", max_bytes),
                max_redirects=r.int_("max_redirects", max_redirects),
                allow_private_networks=r.bool_("allow_private_networks", allow_private),
            )
        )

    raw_notify = data.get("notify", [])
    if not isinstance(raw_notify, list):
        top.fail("[[notify]] entries must be written as an array of tables: [[notify]]")
    targets: list[NotifyConfig] = []
    for i, raw in enumerate(raw_notify, 1):
        r = _Reader(cfg_path, f"notify #{i}", raw, _NOTIFY_KEYS)
        url = r.str_("url")
        if not url:
            r.fail(f"notify #{i} needs a url (an apprise URL such as mailto://... or console://)")
        assert url is not None
        name = r.str_("name") or f"{url.split(':', 1)[0]}-{i}"
        if any(t.name == name for t in targets):
            r.fail(f"two notify targets are named {name!r}; names must be unique")
        fmt = r.str_("format")
        if fmt is not None and fmt not in ("text", "html", "markdown"):
            r.fail(f"notify {name!r}: format must be text, html or markdown, got {fmt!r}")
        digest_raw = r.raw("digest")
        throttle_raw = r.raw("throttle")
        flood = r.raw("flood")
        if flood is not None and (isinstance(flood, bool) or not isinstance(flood, int) or flood < 1):
            r.fail(f"notify {name!r}: flood must be a whole number >= 1, got {flood!r}")
        targets.append(
            NotifyConfig(
                name=name,
                url=url,
                tags=r.str_list("tags", ("all",)),
                digest=None if digest_raw is None else r.duration("digest", timedelta(0)),
                flood=flood,
                format=fmt,
                title_template=r.str_("title_template"),
                body_template=r.str_("body_template"),
                throttle=None if throttle_raw is None else r.duration("throttle", timedelta(0)),
            )
        )

    database = w.path("database", "var/watcher.db")
    assert database is not None
    rules = tuple((p if p.is_absolute() else cfg_path.parent / p) for p in map(Path, w.str_list("rules", ("rules/",))))
    metrics = w.str_("metrics")
    if metrics is not None and not re.match(r"^[\w.\-\[\]:]+:\d+$", metrics):
        w.fail(f"watcher.metrics must be HOST:PORT, got {metrics!r}")
    return Config(
        path=cfg_path,
        database=database,
        rules=rules,
        interval=interval,
        sources=tuple(sources),
        notify=tuple(targets),
        retention=retention,
        retry_for=w.duration("retry_for", timedelta(days=2)),
        retry_initial=w.duration("retry_initial", timedelta(seconds=30)),
        retry_max=w.duration("retry_max", timedelta(hours=1)),
        flood=w.int_("flood", 20, minimum=1),
        max_text=w.int_("max_text", 200_000, minimum=1000),
        regex_timeout=w.duration("regex_timeout", timedelta(milliseconds=200)),
        concurrency=w.int_("concurrency", 8, minimum=1),
        per_host=w.int_("per_host", 2, minimum=1),
        jitter=float(w.raw("jitter", 0.1)),
        workers=w.int_("workers", 2, minimum=0),
        failure_alert_after=w.int_("failure_alert_after", 5, minimum=1),
        user_agent=w.str_("user_agent") or Config.user_agent,
        metrics=metrics,
        shutdown_grace=w.duration("shutdown_grace", timedelta(seconds=8)),
    )
