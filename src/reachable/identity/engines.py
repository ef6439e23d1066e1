"""Splink scoring of candidate pairs on DuckDB (default) or Spark.

The batch linker chooses its candidate pairs itself (the same blocking keys as the online
path, joined in DuckDB) and hands them to Splink with
``register_blocked_pairs_for_predict``; Splink then scores exactly those pairs with the saved
model. On Spark the model's comparisons are rebuilt for Spark's SQL dialect from the same
creators (``splink_settings``) and the saved m/u probabilities are copied level by level.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any, Protocol

import pyarrow as pa

from reachable.identity.duckdb_connection import duckdb_connect
from reachable.identity.features import TF_COLUMNS
from reachable.identity.splink_settings import project_settings

LOG_LEVEL = logging.WARNING
OUTPUT = ("uid_l", "uid_r", "match_weight")


def _model_settings(document: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The saved model as a settings dict for ``dialect`` (dedupe of one table of records)."""
    saved = dict(document["splink"])
    if dialect == "duckdb":
        settings = saved
    else:
        settings = project_settings().get_settings(dialect).as_dict()
        by_name = {c["output_column_name"]: c for c in saved["comparisons"]}
        for comparison in settings["comparisons"]:
            saved_levels = by_name[comparison["output_column_name"]]["comparison_levels"]
            for level, saved_level in zip(comparison["comparison_levels"], saved_levels,
                                          strict=True):
                for key in ("m_probability", "u_probability"):
                    if key in saved_level:
                        level[key] = saved_level[key]
        settings["probability_two_random_records_match"] = saved[
            "probability_two_random_records_match"]
    settings = dict(settings)
    settings.update(link_type="dedupe_only", unique_id_column_name="uid",
                    retain_matching_columns=False, retain_intermediate_calculation_columns=False,
                    additional_columns_to_retain=[], linker_uid=None)
    settings.pop("linker_uid", None)
    return settings


class Engine(Protocol):
    name: str

    def score(self, records: pa.Table, pairs: pa.Table, threshold: float) -> pa.Table:
        """Scores (uid_l, uid_r, match_weight) of ``pairs`` (join_key_l, join_key_r) among
        ``records``, keeping those with a weight at or above ``threshold``."""
        ...


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, document: dict[str, Any]) -> None:
        self.settings = _model_settings(document, "duckdb")
        self._round = 0

    def score(self, records: pa.Table, pairs: pa.Table, threshold: float) -> pa.Table:
        from splink import DuckDBAPI, Linker

        if pairs.num_rows == 0:
            return pa.table({c: pa.array([], pa.string()) for c in OUTPUT[:2]}
                            | {"match_weight": pa.array([], pa.float64())})
        con = duckdb_connect()
        try:
            db_api = DuckDBAPI(connection=con)
            data = db_api.register(records, table_name="records")
            blocked = db_api.register(pairs.append_column(
                "match_key", pa.array(["0"] * pairs.num_rows)), table_name="blocked")
            linker = Linker(data, self.settings, log_level=LOG_LEVEL)
            linker.table_management.register_blocked_pairs_for_predict(blocked)
            predictions = linker.inference.predict(threshold_match_weight=threshold,
                                                   warning_mode="never")
            result: pa.Table = predictions.as_duckdbpyrelation().select(
                "uid_l, uid_r, match_weight").to_arrow_table()
            return result
        finally:
            con.close()


class SparkEngine:
    """Splink's Spark backend in local mode (``local[2]``): the national-batch path."""

    name = "spark"

    def __init__(self, document: dict[str, Any]) -> None:
        self.settings = _model_settings(document, "spark")
        self._spark: Any = None
        self._scratch = ""

    def _session(self) -> Any:
        if self._spark is None:
            from pyspark.sql import SparkSession
            from splink.backends.spark import similarity_jar_location

            # Spark's scratch (checkpoints, and the SQL warehouse it would otherwise make as
            # ./spark-warehouse in whatever directory the command ran from) lives in one
            # temporary directory, removed by ``close``.
            self._scratch = tempfile.mkdtemp(prefix="reachable-spark-")
            self._spark = (SparkSession.builder.master("local[2]")
                           .appName("reachable-link")
                           .config("spark.jars", similarity_jar_location())
                           .config("spark.sql.shuffle.partitions", "4")
                           .config("spark.ui.enabled", "false")
                           .config("spark.driver.memory", "2g")
                           .config("spark.sql.warehouse.dir",
                                   os.path.join(self._scratch, "warehouse"))
                           .getOrCreate())
            self._spark.sparkContext.setLogLevel("ERROR")
            self._spark.sparkContext.setCheckpointDir(
                os.path.join(self._scratch, "checkpoints"))
        return self._spark

    def score(self, records: pa.Table, pairs: pa.Table, threshold: float) -> pa.Table:
        from splink import Linker, SparkAPI

        if pairs.num_rows == 0:
            return pa.table({c: pa.array([], pa.string()) for c in OUTPUT[:2]}
                            | {"match_weight": pa.array([], pa.float64())})
        spark = self._session()
        db_api = SparkAPI(spark_session=spark)
        # Splink's Spark path joins term-frequency tables even when the records carry tf_
        # columns, so the model's frequencies go in as lookup tables instead (same values).
        tf_names = [f"tf_{c}" for c in TF_COLUMNS]
        plain = records.drop_columns([n for n in tf_names if n in records.column_names])
        data = db_api.register(spark.createDataFrame(plain.to_pandas()))
        blocked = db_api.register(spark.createDataFrame(pairs.append_column(
            "match_key", pa.array(["0"] * pairs.num_rows)).to_pandas()))
        linker = Linker(data, self.settings, log_level=LOG_LEVEL)
        for column in TF_COLUMNS:
            lookup = {value: tf for value, tf in zip(records.column(column).to_pylist(),
                                                    records.column(f"tf_{column}").to_pylist(),
                                                    strict=True) if value is not None}
            frame = pa.table({column: list(lookup), f"tf_{column}": list(lookup.values())},
                             schema=pa.schema([(column, pa.string()),
                                               (f"tf_{column}", pa.float64())]))
            linker.table_management.register_term_frequency_lookup(
                db_api.register(spark.createDataFrame(frame.to_pandas())), column)
        linker.table_management.register_blocked_pairs_for_predict(blocked)
        predictions = linker.inference.predict(threshold_match_weight=threshold,
                                               warning_mode="never")
        frame = predictions.as_spark_dataframe().selectExpr(
            "uid_l", "uid_r", "match_weight").toPandas()
        return pa.Table.from_pandas(frame, preserve_index=False)

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None
            shutil.rmtree(self._scratch, ignore_errors=True)


def engine_for(name: str, document: dict[str, Any]) -> DuckDBEngine | SparkEngine:
    if name == "duckdb":
        return DuckDBEngine(document)
    if name == "spark":
        return SparkEngine(document)
    raise ValueError(f"unknown engine {name!r} (duckdb or spark)")
