"""What the scripts that take a finished bench run apart share: read its JSON (one-line errors), rebuild
its data and model from the JSON's spec, load its best checkpoint, and write one JSON line of results.

Used by ``retest.py``, ``seen_diagnosis.py`` and ``s2s_negatives.py`` (scripts beside this file).
"""

import contextlib
import json
import sys
import tempfile

from recbole_disen import checkpoint, files
from recbole_disen.bench.plan import model_class
from recbole_disen.runner import build, build_config


def read_record(path):
    """The bench run JSON at ``path``; a file that is not one is a one-line SystemExit."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path}: not a readable bench run JSON ({error.__class__.__name__}): pass a file of <out>/runs/") from None
    if not isinstance(record, dict) or not {"spec", "run_key"} <= set(record):
        raise SystemExit(f"{path}: not a bench run JSON (no spec or run_key): pass a file of <out>/runs/")
    return record


@contextlib.contextmanager
def rebuilt(record):
    """(config, train, valid, test, model) of the run, rebuilt from its spec as the runner builds them;
    checkpoints go to a temporary folder that lasts as long as the block."""
    spec = record["spec"]
    with tempfile.TemporaryDirectory() as checkpoints:
        config = build_config(model_class(spec["model"]), spec["dataset"], spec["config_files"] or None,
                              {**spec["config_dict"], "checkpoint_dir": checkpoints})
        _, train, valid, test, model = build(config)
        yield config, train, valid, test, model


def load_best(record, model, what):
    """Load the run's best checkpoint into ``model`` (every field checked, no code run), in eval mode;
    return the checkpoint. A run without one is a one-line SystemExit naming ``what`` it was for."""
    if not record.get("checkpoint"):
        raise SystemExit(f"{record['run_key']}: the run has no best checkpoint to {what}")
    state = checkpoint.read(record["checkpoint"])
    model.load_state_dict(state["state_dict"])
    model.eval()
    return state


def emit(result, out=None):
    """Write ``result`` as one JSON line on stdout and, with ``out``, append it to that file."""
    line = json.dumps(result)
    sys.stdout.write(line + "\n")
    if out:
        previous = out.read_text() if out.exists() else ""
        files.write_text(out, previous + line + "\n")
