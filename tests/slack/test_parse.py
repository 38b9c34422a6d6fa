"""Parsing the text after /411: quotes, key=value, Slack's escaped mentions."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.slack.commands.parse import parse, slack_ref
from bot.slack.commands.router import REGISTRY


def test_it_splits_words_and_options_with_quotes() -> None:
    args = parse(
        'search create name="failed logins" query=\'outcome:failure AND user:"bob"\' extra'
    )
    assert args.words == ["search", "create", "extra"]
    assert args.options == {"name": "failed logins", "query": 'outcome:failure AND user:"bob"'}


def test_a_quoted_key_value_is_a_word() -> None:
    assert parse('suppress 3 "user=bob" for 2h').words == ["suppress", "3", "user=bob", "for", "2h"]


def test_it_folds_curly_quotes_that_slack_clients_type() -> None:
    assert parse("search create name=\u201cnight owls\u201d").options == {"name": "night owls"}


def test_it_refuses_an_unbalanced_quote_and_a_repeated_option() -> None:
    with pytest.raises(InvalidInput, match="quotes"):
        parse('search create name="oops')
    with pytest.raises(InvalidInput, match="given twice"):
        parse("search create name=a name=b")


def test_urls_with_equals_signs_stay_words() -> None:
    assert parse("https://x.example/?a=b").words == ["https://x.example/?a=b"]


def test_it_turns_slack_escaped_mentions_into_ids() -> None:
    assert slack_ref("<@U123|bob>") == "U123"
    assert slack_ref("<#C42|alerts>") == "C42"
    assert slack_ref("<!subteam^S9|@oncall>") == "S9"
    assert slack_ref("C42") == "C42"


def test_an_unknown_word_gets_the_nearest_commands_usage() -> None:
    from bot.slack.commands.router import _load_commands

    _load_commands()
    with pytest.raises(InvalidInput) as caught:
        REGISTRY.find(parse("supress 3 k for 1h"))
    assert (
        "Did you mean `suppress`" in caught.value.message
        and "/411 suppress &lt;search&gt;" in caught.value.message
    )


def test_it_gives_back_what_the_user_typed_behind_slacks_escaping() -> None:
    typed = parse(
        'search create query="status:&gt;=500 &amp;&amp; path:/a" url=<https://x.example/a?b=1>'
    )
    assert typed.options["query"] == "status:>=500 && path:/a"
    assert typed.options["url"] == "https://x.example/a?b=1"
    assert parse("url=<http://example.com|example.com>").options["url"] == "example.com"
