"""``411 import elastalert``: saved or written as YAML, bad files reported, never stopping early.

Also the two translations every rule goes through: filters (the old forms
ElastAlert's documentation shows) and alert_subject/alert_text with their args.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from bot.cli import main
from bot.definitions.yaml_files import read_file
from bot.models import Search
from bot.rule_import.elastalert_filters import FilterError, convert_filters, query_settings
from bot.rule_import.elastalert_text import TextError, format_template
from bot.text.fields import template_fields
from bot.text.templates import render_template

from .elastalert_runs import CORPUS, rule_file


def test_the_corpus_is_saved_and_a_second_import_changes_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    args = ["import", "elastalert", str(CORPUS), "--channel", "C0ALERTS", "--owner", "U0OWNER"]
    assert main(args) == 1  # one shipped rule is not convertible: the run says so
    out, err = capsys.readouterr()
    assert "example_thehive_frequency.yaml: Example TheHive with frequency and query_key: " in err
    assert "timeframe: is required" in err
    assert "14 created, 0 updated, 0 unchanged, 0 not saved" in out
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Search.name, Search.channel, Search.owner)).all()
    finally:
        engine.dispose()
    assert len(rows) == 14 and {(c, o) for _, c, o in rows} == {("C0ALERTS", "U0OWNER")}
    assert main(args) == 1
    assert "0 created, 0 updated, 14 unchanged" in capsys.readouterr().out


BAD_RULES: dict[str, Any] = {
    "custom.yaml": {"name": "Custom", "type": "mymodule.MyRule", "index": "logs-*"},
    "filter.yaml": {"name": "Bad filter", "type": "any", "index": "logs-*",
                    "filter": [{"term": {"a": 1}}, {"or": ["not a query"]}]},
    "template.yaml": {"name": "Bad text", "type": "any", "index": "logs-*",
                      "alert_text": "{0} and {1}", "alert_text_args": ["user"]},
    "spike.yaml": {"name": "Bad spike", "type": "spike", "index": "logs-*",
                   "timeframe": {"hours": 1}, "spike_height": 2, "spike_type": "sideways"},
    "script.yaml": {"name": "Scripted", "type": "metric_aggregation", "index": "logs-*",
                    "metric_agg_key": "x", "metric_agg_type": "avg", "max_threshold": 1,
                    "metric_agg_script": {"script": "doc['x'].value * 2"}},
    "duplicate.yaml": {"name": "Good", "type": "any", "index": "other-*"},
}  # fmt: skip


def test_bad_files_are_reported_with_file_and_field_and_the_good_ones_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, raw in BAD_RULES.items():
        rule_file(rules, name, raw)
    (rules / "broken.yaml").write_text("name: [unclosed\n")
    rule_file(rules, "a-good.yaml", {"name": "Good", "type": "any", "index": "logs-*",
                                     "query_key": "user", "realert": {"hours": 2}})  # fmt: skip
    out_dir = tmp_path / "out"
    assert main(["import", "elastalert", str(rules), "--out", str(out_dir)]) == 1
    out, err = capsys.readouterr()
    expected = {
        "broken.yaml": "broken: cannot read:",
        "custom.yaml": "type: 'mymodule.MyRule' is not convertible",
        "filter.yaml": "filter[1].or[0]: each filter must be a mapping with one query type",
        "template.yaml": "alert_text: uses {1} but only 1 args are given",
        "spike.yaml": "spike_type: must be up, down or both, not 'sideways'",
        "script.yaml": "metric_agg_script: a scripted statistic cannot be converted",
        "duplicate.yaml": "name: 'Good' is also the name of",
    }
    for file, message in expected.items():
        [line] = [line for line in err.splitlines() if f"{rules / file}:" in line]
        assert message in line
    assert "1 converted, 7 not convertible" in out
    [written] = out_dir.iterdir()
    result = read_file(written)  # what was written is a valid 411 search file
    assert result.problems == []
    [defn] = result.definitions
    assert (defn.name, defn.key_fields, defn.renotify_seconds) == ("Good", ("user",), 7200)


def test_old_filter_forms_become_bool_queries() -> None:
    converted = convert_filters([
        {"query": {"query_string": {"query": "event:login"}}},
        {"or": [{"term": {"user": "root"}}, {"and": {"filters": [{"range": {"n": {"gt": 1}}}]}}]},
        {"not": {"filter": {"term": {"user": "bob"}}}},
        {"missing": {"field": "host"}},
        {"type": {"value": "doc"}},
        {"terms": {"_type": ["login"]}},
    ])  # fmt: skip
    assert converted.clauses == [
        {"query_string": {"query": "event:login"}},
        {"bool": {"should": [{"term": {"user": "root"}}, {"range": {"n": {"gt": 1}}}],
                  "minimum_should_match": 1}},
        {"bool": {"must_not": [{"term": {"user": "bob"}}]}},
        {"bool": {"must_not": [{"exists": {"field": "host"}}]}},
    ]  # fmt: skip
    assert [n.split(" ")[0] for n in converted.notes] == ["filter[4]", "filter[5]"]
    assert query_settings(converted.clauses[:1]) == {"query": "event:login"}
    assert list(query_settings(converted.clauses)) == ["query_dsl"]
    with pytest.raises(FilterError, match=r"filter\[0\]\.not: each filter must be a mapping"):
        convert_filters([{"not": "user:bob"}])


def _render(template: str, fields: dict[str, Any]) -> str:
    view, top = template_fields(fields)
    return render_template(template, {**top, "fields": view, "result_link": "http://kibana/x"})


def test_subject_and_text_args_render_as_elastalert_formats_them() -> None:
    rule = {"name": "r", "owner": "secops"}
    fields = {"user": {"name": "bob"}, "value": 0.8567}
    text = format_template(
        "{} logged in {{twice}}: {1:.2f} {2} by {3} ({4})",
        ["user.name", "metric_agg_value", "missing.field", "owner", "kibana_discover_url"],
        rule,
        {"metric_agg_value": "value"},
    )
    rendered = _render(text, fields)
    assert rendered == "bob logged in {twice}: 0.86 <MISSING VALUE> by secops (http://kibana/x)"
    keywords = format_template("{who} at {{% raw %}}", {"user.name": "who"}, rule, {})
    assert _render(keywords, fields) == "bob at {% raw %}"
    with pytest.raises(TextError, match="alert_text_kw does not define"):
        format_template("{nobody}", {"user.name": "who"}, rule, {})


def test_jinja_text_and_imported_base_rules(tmp_path: Path) -> None:
    from bot.rule_import.elastalert import convert_file
    from bot.rule_import.options import ImportOptions
    from bot.rule_import.report import Converted

    rule_file(tmp_path, "base.yaml", {"index": "auth-*", "type": "any", "realert": {"minutes": 5},
                                       "filter": [{"term": {"event": "login"}}]})  # fmt: skip
    path = rule_file(tmp_path, "rule.yaml", {
        "import": "base.yaml", "name": "Logins", "realert": {"minutes": 30},
        "alert_text_type": "alert_text_jinja", "alert_subject": "{{ _data['user.name'] }} in",
        "alert_text": "from {{ src }}",
    })  # fmt: skip
    outcome = convert_file(path, ImportOptions())
    assert isinstance(outcome, Converted), outcome
    defn = outcome.definition
    assert defn.source_config == {"index": "auth-*", "query_dsl": {"term": {"event": "login"}}}
    assert defn.renotify_seconds == 1800  # the rule's own setting wins over the base's
    assert _render(defn.title_template, {"user": {"name": "bob"}}) == "bob in"
    assert _render(defn.body_template, {"src": "10.0.0.1"}) == "from 10.0.0.1"
