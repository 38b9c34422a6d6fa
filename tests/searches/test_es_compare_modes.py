"""The comparing modes' settings are checked before anything runs, each error naming its field.

How they behave on real data is tested through ElastAlert2's rule types in
``tests/rule_import/test_elastalert_semantics.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from searches.base import SourceConfigError
from searches.elasticsearch import ElasticsearchSource
from searches.es_analysis import Agg, Direction, MetricSettings, SpikeSettings


def _errors(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SourceConfigError) as caught:
        ElasticsearchSource.parse_config({"index": "logs-*", **raw})
    return [str(e) for e in caught.value.errors]


def test_each_mode_reads_its_own_settings() -> None:
    config = ElasticsearchSource.parse_config(
        {"index": "m-*", "mode": "metric", "metric": {"agg": "percentiles", "field": "ms",
                                                      "percentile": 99, "above": 500}}
    )  # fmt: skip
    assert isinstance(config.analysis, MetricSettings)
    assert (config.analysis.metric.agg, config.analysis.metric.percentile) == (Agg.PERCENTILES, 99)
    spike = ElasticsearchSource.parse_config(
        {"index": "m-*", "mode": "spike", "spike": {"height": 3, "direction": "down"}}
    ).analysis
    assert isinstance(spike, SpikeSettings) and spike.direction is Direction.DOWN
    assert spike.metric is None  # counts, not a statistic


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"mode": "median"}, "mode: must be one of hits, terms, count, metric, percentage"),
        ({"mode": "metric"}, "metric: is required in metric mode"),
        ({"mode": "metric", "metric": {"field": "x"}},
         "metric.above: give above, below or both"),
        ({"mode": "metric", "metric": {"agg": "mode", "field": "x", "above": 1}},
         "metric.agg: must be one of min, max, avg"),
        ({"mode": "hits", "spike": {"height": 2}}, "spike: only applies in spike mode"),
        ({"mode": "spike", "spike": {"direction": "up"}}, "spike.height: is required"),
        ({"mode": "percentage", "percentage": {"below": 90}},
         "percentage.match_query: give either match_query (Lucene) or match_query_dsl"),
        ({"mode": "new_terms", "new_terms": {"fields": [["a", 3]]}},
         "new_terms.fields: ['a', 3] is neither a field name nor a list of them"),
        ({"mode": "change", "change": {"fields": ["country"]}},
         "group_by: is required in change mode"),
        ({"mode": "change", "group_by": ["u"], "change": {"fields": ["c"], "wihtin": "1d"}},
         "change.wihtin: is not a known setting"),
        ({"mode": "count", "latest_document": True},
         "latest_document: only applies in terms mode"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_refused_naming_its_field(raw: dict[str, Any], expected: str) -> None:
    assert any(e.startswith(expected) for e in _errors(raw)), _errors(raw)
