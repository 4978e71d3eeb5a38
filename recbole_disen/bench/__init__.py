"""Benchmark DisenSeqRec against baseline models over datasets and seeds.

``recbole-disen bench --datasets ml-100k`` (or ``python -m recbole_disen.bench ...``) trains every
(dataset, model, seed) combination, each in its own worker process, and writes under ``--out``:

* ``runs/<dataset>__<model>__seed<seed>.json``: the runner's result plus the run's spec (``...__h<N>.json``
  for a run of ``--horizon N``); a run whose JSON holds the same spec is skipped, and a run that was
  interrupted continues from the last-epoch checkpoint in its checkpoint folder when that was trained
  under the same spec (``folder``), so an interrupted benchmark resumes where it stopped;
* ``BENCH.md``: a Markdown report built from all run JSONs in the folder: per dataset the next-item
  tables, then a horizon table for each N of its ``--horizon`` runs;
* ``curves.png``: the validation score (NDCG@10, or horizon NDCG@10) against epoch and wall time.

The parts, in the order a bench command uses them:

* ``outdir``: which ``--out`` folders the bench writes into (a bench folder holds ``runs/``);
* ``plan``: the command's arguments, datasets and the list of runs (``Job``);
* ``execute``: the models' settings checked as the runner checks them, then each run in this process or
  in a worker process, its JSON stored once it succeeded;
* ``folder``: a run's checkpoint folder: its spec, its lock, and earlier files (and JSON) set aside;
* ``worker``: the worker process's entry point (``python -m recbole_disen.bench.worker JOB_FILE``);
* ``compare``: the statistics (mean ± std over seeds, the paired tests of DisenSeqRec against each
  baseline), ``summary``: the per-dataset summary, and ``horizon_summary``: the horizon tables, pure
  functions over run dictionaries, and ``mixed``: the rows whose seeds were run under different specs;
* ``report``: the Markdown of BENCH.md; ``plot``: the PNG of curves.png;
* ``command``: the command itself, ``cli`` and ``main``.
"""
