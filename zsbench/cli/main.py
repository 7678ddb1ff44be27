"""The ``zsbench`` command. The only place in zsbench that prints."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from zsbench import __version__
from zsbench.errors import ZsbenchError


def _rank_label() -> str:
    """``" (rank N)"`` on the other processes of a torchrun run (torch-free: errors stay fast)."""
    several = os.environ.get("WORLD_SIZE", "1").strip() not in ("", "0", "1")
    rank = os.environ.get("RANK", "0").strip() if several else "0"
    return f" (rank {rank})" if rank not in ("", "0") else ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_line(exc: click.UsageError) -> str:
    """click's usage error (bad option, bad value, missing argument) as one line, with the help
    command to read instead of click's usage block."""
    message = _one_line(exc.format_message())
    ctx = exc.ctx
    return f"{message} (see '{ctx.command_path} --help')" if ctx is not None else message


class ZsbenchGroup(click.Group):
    """Every error as one line on stderr and an exit code: zsbench's typed errors (UsageError: 2),
    click's usage errors (2), anything unexpected (1, naming it a bug); --debug adds the traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(f"zsbench: error: {_usage_line(exc)}", err=True)
            code = 2
        except click.ClickException as exc:
            click.echo(f"zsbench: error: {_one_line(exc.format_message())}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("zsbench: aborted", err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        def debug() -> bool:  # set by the group's callback, which runs inside super().invoke
            return bool(ctx.obj and ctx.obj.get("debug"))

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ZsbenchError as exc:
            if debug():
                traceback.print_exc()
            click.echo(f"zsbench: error{_rank_label()}: {_one_line(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("zsbench: interrupted; files already written are complete", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug, not a user error: still one line, the traceback on request
            if debug():
                traceback.print_exc()
            click.echo(f"zsbench: internal error{_rank_label()}: {exc.__class__.__name__}: {_one_line(str(exc))} "
                       "(a bug in zsbench or a plugin; rerun with --debug for the traceback)", err=True)
            ctx.exit(1)


@click.group(cls=ZsbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zsbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Multi-label generalized zero-shot learning benchmarks for chest X-rays."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    # Model hubs are unreachable by design: never let a library try to download at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _register_commands() -> None:
    # one module per command group keeps each small
    from zsbench.cli.calibrate_cmd import calibrate_command
    from zsbench.cli.compare_cmd import compare_command
    from zsbench.cli.data_cmd import data_group, prepare_command, splits_group
    from zsbench.cli.leaderboard_cmd import leaderboard_group
    from zsbench.cli.list_cmd import list_command
    from zsbench.cli.plugins_cmd import plugins_group
    from zsbench.cli.predict_cmd import predict_command
    from zsbench.cli.pretrain_cmd import pretrain_command
    from zsbench.cli.report_cmd import report_command
    from zsbench.cli.rescore_cmd import rescore_command
    from zsbench.cli.run_cmd import run_command
    from zsbench.cli.sweep_cmd import sweep_command

    cli.add_command(run_command)
    cli.add_command(list_command)
    cli.add_command(predict_command)
    cli.add_command(calibrate_command)
    cli.add_command(report_command)
    cli.add_command(rescore_command)
    cli.add_command(leaderboard_group)
    cli.add_command(data_group)
    cli.add_command(splits_group)
    cli.add_command(prepare_command)
    cli.add_command(sweep_command)
    cli.add_command(compare_command)
    cli.add_command(plugins_group)
    cli.add_command(pretrain_command)


_register_commands()


def main() -> None:
    cli.main(prog_name="zsbench")


if __name__ == "__main__":
    sys.exit(main())
