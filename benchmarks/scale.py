"""Time and memory of loading one .inter file for DisenSeqRec with the amazon-books settings.

Measures, in this process (run one size per process, so each starts from a clean heap):

(a) RecBole load + filter (``build_dataset``: read, rating >= 3, dedup, 5-core, remap ids);
(b) ``data_preparation``: augmentation (every interaction but a user's first becomes a row with its
    MAX_ITEM_LIST_LENGTH history), leave-one-out split and dataloaders; the augmentation is timed alone too;
(c) DisenSeqRec's own index (``FutureIndex.from_dataset`` over the training split).

For each stage: seconds, the peak RSS sampled during it (a background thread) and ``ru_maxrss`` after it.
Then the bytes DisenSeqRec adds (its index tensors and the position field on the training rows), per
training row and as a share of RecBole's own peak (stages a and b), which must stay at or under 10%; and,
to show where RecBole's memory goes, the bytes of every field of the augmented data and of each split, and
how full the training rows' [rows, MAX_ITEM_LIST_LENGTH] histories are (the rest is zero padding).

    python benchmarks/scale.py --data_path /tmp/scale --name synth-1m --json /tmp/scale/results.jsonl
"""

import argparse
import json
import os
import platform
import resource
import threading
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMAZON_BOOKS = os.path.join(ROOT, "properties", "dataset", "amazon-books.yaml")
GIB = 2**30
SHARE_LIMIT = 0.10  # DisenSeqRec's additions, at most this share of RecBole's peak


def say(text):
    """One line of the report on stdout, at once (the run is long)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


class PeakRSS:
    """This process's resident memory, sampled by a daemon thread: the peak since the last ``lap``."""

    def __init__(self, interval=0.02):
        self._interval = interval
        self._peak = self.now()
        self._lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    @staticmethod
    def now():
        """Current RSS in bytes (Linux: VmRSS of /proc/self/status, in KiB)."""
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def _sample(self):
        while True:
            rss = self.now()
            with self._lock:
                self._peak = max(self._peak, rss)
            time.sleep(self._interval)

    def lap(self):
        """Peak RSS in bytes since the previous lap (or the start); the next lap starts from now."""
        rss = self.now()
        with self._lock:
            peak, self._peak = max(self._peak, rss), rss
        return peak


def max_rss():
    """ru_maxrss of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def field_bytes(interaction):
    """{field: bytes} of a RecBole Interaction's tensors."""
    return {name: tensor.numel() * tensor.element_size() for name, tensor in interaction.interaction.items()}


class Stages:
    """Seconds, sampled peak RSS and ru_maxrss of consecutive stages, in order."""

    def __init__(self):
        self.memory = PeakRSS()
        self.results = {"baseline_rss": self.memory.now()}
        self._started = time.perf_counter()
        self.memory.lap()

    def end(self, name):
        """Close stage ``name`` (it began where the previous one ended) and print it."""
        now = time.perf_counter()
        stage = {"seconds": now - self._started, "peak_rss": self.memory.lap(), "max_rss": max_rss(),
                 "rss_after": self.memory.now()}
        self.results[name] = stage
        self._started = now
        say(f"{name}: {stage['seconds']:.1f} s, peak RSS {stage['peak_rss'] / GIB:.2f} GiB, "
              f"ru_maxrss {stage['max_rss'] / GIB:.2f} GiB")

    def ends(self, name):
        """Wrap a callable so that its return ends stage ``name`` (a stage inside the running one)."""
        def wrapper(function):
            def timed(*args, **kwargs):
                result = function(*args, **kwargs)
                self.end(name)
                return result
            return timed
        return wrapper


def settings(args):
    """The config_dict: data location, CPU, quiet, and any --set KEY=VALUE (values read as YAML)."""
    config_dict = {"data_path": args.data_path, "gpu_id": "", "show_progress": False, "worker": 0}
    for item in args.set:
        key, _, value = item.partition("=")
        config_dict[key] = yaml.safe_load(value)
    return config_dict


def measure(args):
    """Run the three stages on one dataset; returns the results as plain data."""
    from recbole.data import data_preparation

    from recbole_disen.future import FUTURE_POSITION_FIELD, FutureIndex, tag_training_rows
    from recbole_disen.runner import build_config, build_dataset, environment

    stages = Stages()
    config = build_config("DisenSeqRec", args.name, config_files=[AMAZON_BOOKS] + args.config_files,
                          config_dict=settings(args))
    stages.end("config")
    dataset = build_dataset(config)
    filtered = {"interactions": dataset.inter_num, "users": dataset.user_num - 1, "items": dataset.item_num - 1}
    stages.end("a_load_filter")
    dataset.data_augmentation = stages.ends("b1_augmentation")(dataset.data_augmentation)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    stages.end("b2_split_loaders")
    max_len = config["future_max_len"] or config["MAX_ITEM_LIST_LENGTH"]
    tag_training_rows(train_data.dataset)
    index = FutureIndex.from_dataset(train_data.dataset, max_len)
    stages.end("c_disen_index")
    train = train_data.dataset.inter_feat
    additions = {"index_items": index.items.nbytes, "index_end": index.end.nbytes,
                 "position_field": train[FUTURE_POSITION_FIELD].nbytes}
    fields = {"augmented": field_bytes(dataset.inter_feat), "train": field_bytes(train),
              "valid": field_bytes(valid_data.dataset.inter_feat), "test": field_bytes(test_data.dataset.inter_feat)}
    fields["train"].pop(FUTURE_POSITION_FIELD)
    results = stages.results
    recbole_peak = max(results[name]["peak_rss"] for name in ("config", "a_load_filter", "b1_augmentation",
                                                                 "b2_split_loaders"))
    versions, machine = environment()
    return {
        "name": args.name, "settings": settings(args), "config_files": args.config_files,
        "max_item_list_length": config["MAX_ITEM_LIST_LENGTH"], "future_max_len": max_len,
        "history_fill": float(train[config["ITEM_LIST_LENGTH_FIELD"]].double().mean()) / config["MAX_ITEM_LIST_LENGTH"],
        "generated_interactions": count_lines(os.path.join(args.data_path, args.name, f"{args.name}.inter")),
        "filtered": filtered, "training_rows": len(train), "valid_rows": len(valid_data.dataset.inter_feat),
        "test_rows": len(test_data.dataset.inter_feat), "stages": results, "recbole_peak_rss": recbole_peak,
        "disen_bytes": additions, "disen_total_bytes": sum(additions.values()),
        "disen_share_of_recbole_peak": sum(additions.values()) / recbole_peak,
        "disen_index_stage_rss_growth": results["c_disen_index"]["peak_rss"] - results["b2_split_loaders"]["rss_after"],
        "field_bytes": fields, "versions": versions, "machine": {**machine, "ram_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")},
    }


def count_lines(path):
    """Data rows of an atomic file (lines less the header)."""
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(2**24), b"")) - 1


def report(result):
    """Print the summary lines of one measurement."""
    f, gib = result["filtered"], result["recbole_peak_rss"] / GIB
    share = result["disen_share_of_recbole_peak"]
    say(f"{result['name']}: {result['generated_interactions']} generated -> {f['interactions']} after filtering "
          f"({f['interactions'] / result['generated_interactions']:.1%}), {f['users']} users, {f['items']} items, "
          f"{result['training_rows']} training rows, histories {result['history_fill']:.0%} filled")
    say(f"RecBole peak RSS {gib:.2f} GiB; DisenSeqRec adds {result['disen_total_bytes']} bytes "
          f"({result['disen_total_bytes'] / result['training_rows']:.1f} per training row) = {share:.2%} of it: "
          f"{'within' if share <= SHARE_LIMIT else 'OVER'} the {SHARE_LIMIT:.0%} limit")
    for split, sizes in result["field_bytes"].items():
        say(f"  {split}: " + ", ".join(f"{name} {size / GIB:.3f} GiB" for name, size in sizes.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_path", required=True, help="folder holding NAME/NAME.inter")
    parser.add_argument("--name", required=True, help="dataset name")
    parser.add_argument("--config_files", nargs="*", default=[], help="extra yaml files, after amazon-books.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting (repeatable)")
    parser.add_argument("--json", help="append the results as one JSON line to this file")
    args = parser.parse_args(argv)
    say(f"{args.name}: python {platform.python_version()}, {os.cpu_count()} CPUs")
    result = measure(args)
    report(result)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
