"""The ``recbole-disen`` command (and ``run_recbole_disen.py``).

    recbole-disen [--model=M] [--dataset=D] [--config_files="a.yaml b.yaml"] [--resume=PATH] [--key=value ...]
    recbole-disen prepare {user-lines,amazon-csv} SRC [--out DIR] [--name NAME] [--overwrite]
    recbole-disen bench --datasets=... [--models=...] [--seeds=...] ...
    recbole-disen recommend CHECKPOINT --users u1,u2 [--k 10] [--data_path DIR]
    recbole-disen intentions CHECKPOINT [--user U] [--summary] [--out PICTURE.png [--overwrite]] [--data_path DIR]

Training arguments follow RecBole's ``run_recbole.py``: any ``--key=value`` is a setting, and
``--nproc``, ``--world_size``, ``--ip``, ``--port``, ``--group_offset`` start distributed training.
"""

import os
import sys

from recbole_disen.errors import Interrupted, UserError, sigterm_as_interrupt

USAGE = "recbole-disen [--model=M] [--dataset=D] [--config_files=FILES] [--key=value ...]"
RUN_ARGS = {"model": "DisenSeqRec", "dataset": "ml-100k", "config_files": "", "resume": "",
            "nproc": "1", "world_size": "-1", "ip": "localhost", "port": "5678", "group_offset": "0"}


def parse_run_args(argv):
    """(run arguments, settings) from ``--key=value`` words, as RecBole's run_recbole.py reads them.

    The run arguments (model, dataset, config_files, resume and the distributed ones) may also be
    given as ``--key value``; ``--config_files`` takes space-separated files, as in RecBole.
    """
    args, settings = dict(RUN_ARGS), {}
    words = list(argv)
    while words:
        word = words.pop(0)
        key, equals, value = word[2:].partition("=")
        if word.startswith("--") and not equals and key in RUN_ARGS and words:
            value, equals = words.pop(0), "="
        if not word.startswith("--") or not equals:
            raise UserError(f"unrecognised argument '{word}': use --key=value (usage: {USAGE})")
        (args if key in RUN_ARGS else settings)[key] = value
    for key in ("model", "dataset"):
        if not args[key]:
            raise UserError(f"--{key} needs a value (leave it out for {RUN_ARGS[key]})")
    for key in ("nproc", "world_size", "port", "group_offset"):
        try:
            args[key] = int(args[key])
        except ValueError:
            raise UserError(f"--{key} must be an integer, got {args[key]!r}") from None
    if args["nproc"] < 1:
        raise UserError(f"--nproc must be an integer >= 1 (the processes to start, one per GPU), got {args['nproc']}")
    paths = args["config_files"].split()
    if len(paths) > 1 and os.path.isfile(args["config_files"].strip()) and not all(map(os.path.isfile, paths)):
        raise UserError(f"--config_files splits its value at spaces, as RecBole does, so {args['config_files'].strip()!r} "
                        "cannot be given there: rename the file without spaces")
    args["config_files"] = paths or None
    return args, settings


def _rounded(value):
    """A share to 4 decimals, as RecBole writes its metrics (None where it does not apply)."""
    return None if value is None else round(value, 4)


def _distributed_worker(rank, args, settings):
    from recbole_disen.runner import run

    config_dict = {"local_rank": rank, "world_size": args["world_size"], "ip": args["ip"],
                   "port": args["port"], "nproc": args["nproc"], "offset": args["group_offset"]}
    run(args["model"], args["dataset"], args["config_files"], config_dict, cmd_config=settings,
        resume=args["resume"] or None)


def train(argv):
    """Train and test one model; the summary goes to stdout after RecBole's log."""
    args, settings = parse_run_args(argv)
    if args["nproc"] == 1 and args["world_size"] <= 0:
        from recbole_disen import protocols
        from recbole_disen.runner import run

        result = run(args["model"], args["dataset"], args["config_files"], cmd_config=settings,
                     resume=args["resume"] or None)
        sys.stdout.write(
            f"best valid, {protocols.name(result['eval_exclude_seen'])}: {result['best_valid_result']}\n"
            f"test, {protocols.name(False)}: {result['test_result_recbole']}\n"
            f"test, {protocols.name(True)}: {result['test_result_unseen']}\n"
            f"share of RecBole's top 10 that the user had before: {_rounded(result['test_seen_share@10'])}\n"
            f"beyond accuracy, RecBole's protocol: {result['test_beyond_recbole']}\n"
            f"checkpoint: {result['checkpoint']} (last epoch, for --resume: {result['last_checkpoint']})\n"
        )
        return 0
    import torch.multiprocessing as mp

    from recbole_disen import checkpoint
    from recbole_disen.runner import build_config

    config = build_config(args["model"], args["dataset"], args["config_files"], cmd_config=settings)  # fail here, not in a worker
    if args["resume"]:
        checkpoint.read_for_resume(args["resume"], config)
    import torch

    if not (torch.cuda.is_available() and torch.distributed.is_nccl_available()):
        raise UserError(
            "--nproc/--world_size start RecBole's distributed training, which uses NCCL and so needs GPUs and a "
            "CUDA build of torch; none here: run without --nproc and --world_size"
        )
    if args["world_size"] == -1:
        args["world_size"] = args["nproc"]
    mp.spawn(_distributed_worker, args=(args, settings), nprocs=args["nproc"], join=True)
    return 0


def dispatch(argv):
    if argv and argv[0] == "prepare":
        from recbole_disen import prepare

        return prepare.cli(argv[1:])
    if argv and argv[0] == "bench":
        from recbole_disen.bench.command import main

        return main(argv[1:])
    if argv and argv[0] == "recommend":
        from recbole_disen import recommend

        return recommend.cli(argv[1:])
    if argv and argv[0] == "intentions":
        from recbole_disen import intention_report

        sys.stdout.write(intention_report.run(argv[1:]))
        return 0
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0
    return train(argv)


def main(argv=None):
    """Entry point: a UserError becomes one line on stderr and exit status 2."""
    try:
        with sigterm_as_interrupt():
            return dispatch(sys.argv[1:] if argv is None else argv)
    except UserError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except Interrupted as interrupt:
        how = (f"run the same command with --resume={interrupt.last} to continue" if interrupt.last
               else "no epoch had ended, so there is nothing to continue from")
        sys.stderr.write(f"interrupted: {how}\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
