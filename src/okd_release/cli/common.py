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

import click
import msgspec.structs

from okd_release.errors import ConfigError, OkdReleaseError
from okd_release.registry import Registries, RegistryOptions

F = TypeVar("F", bound=Callable[..., Any])

_SESSIONS: list[Registries] = []
"""The registry sessions the running command opened (through make_registries): it reports their retries."""


_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+|[0-9]+(?:\.[0-9]+)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2 on
    """A duration as oc's --request-timeout takes it: `30s`, `2m`, `1h30m`, `500ms`; a bare number is seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip()
        if not _DURATION.fullmatch(text):
            self.fail(f"{text!r} is not a duration (like 30s, 2m or 1h30m)", param, ctx)
        if text[-1].isdigit():
            seconds = float(text)
        else:
            seconds = sum(float(number) * _UNIT_SECONDS[unit]
                          for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", text))
        if seconds <= 0:
            self.fail("must be more than 0 (a request without a deadline could hang for ever)", param, ctx)
        return seconds


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a registry-access flag for make_registries, so that each command need not pass it along."""
    if value is not None and param.name:
        ctx.meta[f"okd_release.{param.name}"] = value
    return value


def registry_options(command: F) -> F:
    """-a/--registry-config, --insecure, --certificate-authority, --retries, --request-timeout, --loglevel."""
    defaults = RegistryOptions()
    decorators = [
        click.option("-a", "--registry-config", "registry_config", type=click.Path(dir_okay=False),
                     help="Pull secret / docker config JSON with registry credentials."),
        click.option("--insecure", is_flag=True, help="Allow plain HTTP and unverified TLS."),
        click.option("--certificate-authority", "ca_file", type=click.Path(exists=True, dir_okay=False),
                     help="CA bundle to verify registry TLS certificates."),
        click.option("--retries", type=click.IntRange(0, 100), expose_value=False, callback=_remember,
                     help="Retries of a registry request that failed transiently (connection lost, 429, 5xx), with "
                          f"growing waits that honour Retry-After [default: {defaults.retry.attempts - 1}]."),
        click.option("--request-timeout", type=Duration(), expose_value=False, callback=_remember,
                     help="How long one registry request may take in all, its answer included (30s, 2m, 1h); a "
                          "blob download is not bounded by it but retried when it stalls "
                          f"[default: {defaults.request_deadline:g}s]."),
        click.option("--loglevel", type=click.IntRange(0, 10), default=0, help="Log verbosity (0-10)."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


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
    decorators = [
        click.option("--icsp-file", type=click.Path(dir_okay=False), expose_value=False, callback=_mirror_file,
                     help="Path to an ImageContentSourcePolicy file: images referenced by digest are read from the "
                          "mirrors it names first, then from their source (deprecated in oc: use --idms-file)."),
        click.option("--idms-file", type=click.Path(dir_okay=False), expose_value=False, callback=_mirror_file,
                     help="Path to an ImageDigestMirrorSet file (several documents allowed): images referenced by "
                          "digest are read from the mirrors it names first, then from their source."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _mirror_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Keep --icsp-file / --idms-file for make_registries, which every command calls: no command passes them on."""
    if value is not None and param.name:
        ctx.meta[f"okd_release.{param.name}"] = value
    return value


def _session(options: RegistryOptions) -> Registries:
    """A registry session; one reading through mirrors when the command was given --icsp-file or --idms-file."""
    context = click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    icsp, idms = meta.get("okd_release.icsp_file"), meta.get("okd_release.idms_file")
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
    context = click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    retries, seconds = meta.get("okd_release.retries"), meta.get("okd_release.request_timeout")
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
            click.echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except OSError as error:
            click.echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click prints these itself
        except Exception as error:  # a bug, or input nobody foresaw: still one line; the trace when asked
            _unexpected(error, kwargs.get("loglevel") or 0)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _unexpected(error: Exception, loglevel: int) -> None:
    if loglevel >= 4:
        import logging  # noqa: PLC0415 - an unexpected error, traced when asked for

        logging.getLogger("okd_release").error("unexpected error", exc_info=error)
    hint = "" if loglevel >= 4 else " (rerun with --loglevel 4 for the trace)"
    click.echo(f"error: unexpected {type(error).__name__}: {_one_line(str(error))[:300]}{hint}", err=True)


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
        click.echo(f"info: {count} transient failures were retried", err=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def dump(value: Any, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(value, indent=2))
    elif output == "yaml":
        import yaml  # only for -o yaml

        click.echo(yaml.safe_dump(value, sort_keys=False).rstrip())
    else:
        raise click.BadParameter(f"unknown output format {output!r}")
