"""Options and output shared by all commands: registry access, logging, errors, formats."""

from __future__ import annotations

import functools
import json
import os
import re
import select
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec.structs

from okd_release.cli import declare
from okd_release.cli.output import echo
from okd_release.errors import ConfigError, OkdReleaseError
from okd_release.registry import Registries, RegistryOptions

F = TypeVar("F", bound=Callable[..., Any])

_SESSIONS: list[Registries] = []
"""The registry sessions the running command opened (through make_registries): it reports their retries."""


_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+|[0-9]+(?:\.[0-9]+)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Duration(declare.ParamType):
    """A duration as oc's --request-timeout takes it: `30s`, `2m`, `1h30m`, `500ms`; a bare number is seconds."""

    name = "duration"

    def convert(self, text: str) -> float:
        text = text.strip()
        if not _DURATION.fullmatch(text):
            raise declare.Refused(f"{text!r} is not a duration (like 30s, 2m or 1h30m)")
        if text[-1].isdigit():
            seconds = float(text)
        else:
            seconds = sum(float(number) * _UNIT_SECONDS[unit]
                          for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text))
        if seconds <= 0:
            raise declare.Refused("must be more than 0 (a request without a deadline could hang for ever)")
        return seconds


def registry_options(command: F) -> F:
    """-a/--registry-config, --insecure, --certificate-authority, --retries, --request-timeout, --loglevel."""
    defaults = RegistryOptions()
    return declare.options(
        declare.option("-a", "--registry-config", "registry_config", type=declare.Path(dir_okay=False),
                       help="Pull secret / docker config JSON with registry credentials."),
        declare.option("--insecure", is_flag=True, help="Allow plain HTTP and unverified TLS."),
        declare.option("--certificate-authority", "ca_file", type=declare.Path(exists=True, dir_okay=False),
                       help="CA bundle to verify registry TLS certificates."),
        declare.option("--retries", type=declare.IntRange(0, 100), expose_value=False,
                       help="Retries of a registry request that failed transiently (connection lost, 429, 5xx), with "
                            f"growing waits that honour Retry-After [default: {defaults.retry.attempts - 1}]."),
        declare.option("--request-timeout", type=Duration(), expose_value=False,
                       help="How long one registry request may take in all, its answer included (30s, 2m, 1h); a "
                            "blob download is not bounded by it but retried when it stalls "
                            f"[default: {defaults.request_deadline:g}s]."),
        declare.option("--loglevel", type=declare.IntRange(0, 10), default=0, help="Log verbosity (0-10)."),
    )(command)


def make_registries(registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int = 0,
                    max_connections: int = 16) -> Registries:
    if loglevel:
        import logging  # noqa: PLC0415 - only when asked for: most runs log nothing

        logging.basicConfig(level=logging.DEBUG if loglevel >= 4 else logging.INFO, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
    options = RegistryOptions(insecure=insecure, ca_file=ca_file, registry_config=registry_config,
                              max_connections=max_connections)
    registries = _session(_with_command_flags(options))
    _SESSIONS.append(registries)
    return registries


def mirror_config_options(command: F) -> F:
    """oc's --icsp-file and --idms-file: read images by digest from the mirrors a file names, then the source."""
    return declare.options(
        declare.option("--icsp-file", type=declare.Path(dir_okay=False), expose_value=False,
                       help="Path to an ImageContentSourcePolicy file: images referenced by digest are read from the "
                            "mirrors it names first, then from their source (deprecated in oc: use --idms-file)."),
        declare.option("--idms-file", type=declare.Path(dir_okay=False), expose_value=False,
                       help="Path to an ImageDigestMirrorSet file (several documents allowed): images referenced by "
                            "digest are read from the mirrors it names first, then from their source."),
    )(command)


def _session(options: RegistryOptions) -> Registries:
    """A registry session; one reading through mirrors when the command was given --icsp-file or --idms-file."""
    icsp, idms = declare.given("icsp_file"), declare.given("idms_file")
    if icsp and idms:
        raise ConfigError("--icsp-file and --idms-file are mutually exclusive")
    if not icsp and not idms:
        return Registries(options)
    from okd_release.mirrors import load_mirror_files  # noqa: PLC0415 - only commands given a file pay for it
    from okd_release.stores import MirroredRegistries  # noqa: PLC0415

    mirrors = load_mirror_files([Path(icsp)] if icsp else [], [Path(idms)] if idms else [])
    return MirroredRegistries(options, mirrors=mirrors)


def _with_command_flags(options: RegistryOptions) -> RegistryOptions:
    """`options` with the running command's --retries and --request-timeout (their defaults when not given)."""
    retries, seconds = declare.given("retries"), declare.given("request_timeout")
    if retries is not None:  # the policy's other fields (its waits, and a test's sleep) stay as they are
        options = msgspec.structs.replace(options, retry=msgspec.structs.replace(options.retry, attempts=retries + 1))
    if seconds is not None:
        options = msgspec.structs.replace(options, request_deadline=seconds)
    return options


def handle_errors(command: F) -> F:
    """Turn library errors into one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a reader that left (`| head`) shows here, not as a complaint at exit
            _report_retries()
            return result
        except BrokenPipeError as error:
            if not _stdout_gone():
                _unexpected(error, kwargs.get("loglevel") or 0)
                sys.exit(1)
            # like other tools whose reader left: quiet, with the status of SIGPIPE
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            import signal  # noqa: PLC0415 - only for a reader that left

            sys.exit(128 + signal.SIGPIPE)
        except OkdReleaseError as error:
            _report_retries()
            echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            echo("error: interrupted", err=True)
            sys.exit(130)
        except OSError as error:
            echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(1)
        except Exception as error:  # a bug, or input nobody foresaw: still one line; the trace when asked
            if _from_click(error):
                raise  # click prints these itself (a prompt the user aborted)
            _unexpected(error, kwargs.get("loglevel") or 0)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _from_click(error: Exception) -> bool:
    """Whether `error` is one of click's, which click reports itself (when click runs the command)."""
    return type(error).__module__.startswith("click.")


def _unexpected(error: Exception, loglevel: int) -> None:
    if loglevel >= 4:
        import logging  # noqa: PLC0415 - an unexpected error, traced when asked for

        logging.getLogger("okd_release").error("unexpected error", exc_info=error)
    hint = "" if loglevel >= 4 else " (rerun with --loglevel 4 for the trace)"
    echo(f"error: unexpected {type(error).__name__}: {_one_line(str(error))[:300]}{hint}", err=True)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (a broken pipe may also be a socket or a file)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLERR)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return False


def _report_retries() -> None:
    """This command's retries (its sessions' counters, which include its transfers'), not the process's."""
    count = sum(session.retries.count for session in _SESSIONS)
    _SESSIONS.clear()
    if count:
        echo(f"info: {count} transient failures were retried", err=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def dump(value: Any, output: str) -> None:
    if output == "json":
        echo(json.dumps(value, indent=2))
    elif output == "yaml":
        import yaml  # only for -o yaml

        echo(yaml.safe_dump(value, sort_keys=False).rstrip())
    else:
        raise ConfigError(f"unknown output format {output!r}")
