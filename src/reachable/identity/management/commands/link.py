"""``reachable link FILE --agency CODE`` and ``reachable link train``.

``link FILE`` links an agency extract (CSV or Parquet) to the index: progress on stderr,
the summary as one JSON object on stdout (bad rows listed with their row number and reason).
``link train`` estimates the model on the local population (every match profile in the
index) or, with ``--synthetic N``, on N synthetic records; it stores the model, makes it the
active one and can also write the JSON (``--output``); ``--synthetic 100000 --seed 7
--output src/reachable/identity/data/default_model.json --no-store`` makes the packaged
default model.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reachable.core import clock

DEFAULT_TRAINING_SEED = 42


class Command(BaseCommand):
    help = "Link an agency extract to the person index, or train the linkage model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="a CSV or Parquet file to link, or 'train'")
        parser.add_argument("--agency", help="the agency code the extract comes from")
        parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                            help="Splink backend for scoring (default duckdb)")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="rows per transaction; online intake waits for the one in "
                                 "hand (default 5000, 20000 with --engine spark)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--synthetic", type=int, default=0,
                            help="train: on N synthetic records instead of the index")
        parser.add_argument("--seed", type=int, default=DEFAULT_TRAINING_SEED,
                            help="train: random seed for u-sampling (and synthetic data)")
        parser.add_argument("--max-pairs", type=float, default=2e6,
                            help="train: pairs sampled to estimate u (default 2e6)")
        parser.add_argument("--output", help="train: also write the model JSON here")
        parser.add_argument("--no-activate", action="store_true",
                            help="train: store the model without making it active")
        parser.add_argument("--no-store", action="store_true",
                            help="train: only write --output, store nothing in the database "
                                 "(how the packaged default model is made)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["target"] == "train":
            self._train(options)
            return
        from reachable.identity.batch import link_file

        if not options["agency"]:
            raise CommandError("--agency CODE is required when linking a file")
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            summary = link_file(options["target"], agency=options["agency"],
                                engine=options["engine"], chunk_size=options["chunk_size"],
                                progress=not options["no_progress"],
                                stream=getattr(self.stderr, "_out", None))
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary.as_dict()))

    def _train(self, options: dict[str, Any]) -> None:
        from reachable.identity.modelstore import model_install
        from reachable.identity.training import train, training_records

        if options["no_store"] and not options["output"]:
            raise CommandError("--no-store needs --output: the model would go nowhere")
        at = clock.now()
        started = time.monotonic()
        stream = getattr(self.stderr, "_out", sys.stderr)

        def progress(text: str) -> None:
            if not options["no_progress"]:
                print(f"link train [{time.monotonic() - started:6.1f} s] {text}", file=stream,
                      flush=True)

        progress("reading the population")
        if options["synthetic"]:
            from reachable.identity.synthetic import synthetic_features

            records = synthetic_features(options["synthetic"], seed=options["seed"])
            label, description = "synthetic", (
                f"{options['synthetic']} synthetic records (seed {options['seed']})")
        else:
            records = training_records()
            label, description = "local", "the local population (every match profile)"
        try:
            document = train(records, label=label, at=at, seed=options["seed"],
                             max_pairs=options["max_pairs"], description=description,
                             progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(document, indent=1, sort_keys=True)
                                               + "\n")
        stored = not options["no_store"]
        if stored:
            model_install(document=document, at=at, activate=not options["no_activate"])
        progress(f"model {document['version']}: "
                 + ("not stored" if not stored else "stored, not active"
                    if options["no_activate"] else "stored and active"))
        self.stdout.write(json.dumps({"version": document["version"],
                                      "records": document["trained_on"]["records"],
                                      "stored": stored,
                                      "active": stored and not options["no_activate"]}))
