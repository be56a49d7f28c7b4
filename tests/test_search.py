"""The run search language: parsing, SQL semantics on real tables (SQLite and PostgreSQL), errors.

Speed is measured in bench/search_runs.py, never here.
"""

import uuid

import pytest
from sqlalchemy import create_engine, insert

from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.search import (
    And,
    Comparison,
    Field,
    Not,
    Or,
    OrderKey,
    Value,
    parse_filter,
    parse_order_by,
)
from jupyter_mlws.search_sql import compile_search
from jupyter_mlws.store import schema


def _run(pk, exp, start, end, name, status, user, **extra):
    row = dict(
        pk=pk, id=f"r{pk}", experiment_pk=exp, parent_pk=None, number=pk, name=name,
        description="", status=status, error=None, start_time=start, end_time=end,
        heartbeat_at=None, source_type="script", source_name="train.py", git_commit=None,
        git_branch=None, git_dirty=None, user_name=user, host="h", pid=None, point_seq=0,
    )
    row.update(extra)
    return row


RUNS = [
    _run(1, 1, 1000, 5000, "alpha", "FINISHED", "ann", git_commit="abc",
         description="baseline model"),
    _run(2, 1, 2000, 2500, "beta", "FINISHED", "bob"),
    _run(3, 1, 3000, None, "gamma", "RUNNING", "ann", parent_pk=1),
    _run(4, 2, 4000, 4100, "delta", "FAILED", "cy", source_type="notebook"),
    _run(5, 2, 5000, 9000, "eps_1", "FINISHED", "bob"),
]
# run 3's acc is NaN (stored as NULL); run 5 has no acc at all
METRICS = {
    "acc": {1: 0.95, 2: 0.80, 3: None, 4: 0.99},
    "loss": {1: 0.1, 2: 0.3, 3: 0.2, 5: 0.5},
    "val.loss": {1: 1.0},
    "f1-score": {2: 0.7},
}
# (value, numeric value)
PARAMS = {
    "model": {1: ("rf", None), 2: ("svm", None), 3: ("rf", None), 4: ("RF", None)},
    "lr": {1: ("0.01", 0.01), 2: ("0.1", 0.1), 3: ("1e-3", 0.001), 4: ("auto", None),
           5: ("10", 10.0)},
    "layers": {1: ("10", 10.0), 2: ("9", 9.0)},
    "learning rate": {2: ("0.5", 0.5)},
    "flag": {1: ("True", None), 2: ("false", None)},
}
TAGS = {
    "team": {1: "a", 2: "b", 3: "a", 4: "c"},
    "note": {2: "it's", 3: "50%_off", 4: "5000_off", 5: "C:\\data"},
}


def _fill(engine):
    schema.metadata.drop_all(engine)
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.experiments), [
            dict(pk=1, name="exp-a", description="", created_at=0, run_counter=3),
            dict(pk=2, name="exp-b", description="", created_at=0, run_counter=2),
        ])
        conn.execute(insert(schema.runs), RUNS)
        conn.execute(insert(schema.latest_metrics), [
            dict(run_pk=pk, key=key, step=0, ts=0, value=value, count=1)
            for key, by_run in METRICS.items() for pk, value in by_run.items()
        ])
        conn.execute(insert(schema.params), [
            dict(run_pk=pk, key=key, value=value, num=num)
            for key, by_run in PARAMS.items() for pk, (value, num) in by_run.items()
        ])
        conn.execute(insert(schema.tags), [
            dict(run_pk=pk, key=key, value=value)
            for key, by_run in TAGS.items() for pk, value in by_run.items()
        ])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path_factory):
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path_factory.mktemp('search')}/mlws.db")
    else:
        server = request.getfixturevalue("pg_server")
        name = "s_" + uuid.uuid4().hex[:12]
        admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        eng = create_engine(f"{server}/{name}")
    _fill(eng)
    yield eng
    eng.dispose()


def search(engine, filter_string=None, order_by=None, experiment_pks=None):
    with engine.connect() as conn:
        query = compile_search(filter_string, order_by, experiment_pks)
        return [pk for (pk,) in conn.execute(query)]


def matches(engine, filter_string):
    return sorted(search(engine, filter_string))


# --- what filters match --------------------------------------------------------------


@pytest.mark.parametrize("filter_string, expected", [
    ("metrics.acc > 0.9", [1, 4]),
    ("metrics.acc >= 0.8", [1, 2, 4]),
    ("metrics.acc < 1", [1, 2, 4]),  # NaN and missing never match
    ("metrics.acc != 0.8", [1, 4]),
    ("metrics.acc <> 0.8", [1, 4]),
    ("metrics.acc == 0.8", [2]),
    ("metrics.loss <= 0.2", [1, 3]),
    ("metrics.loss > -1e3", [1, 2, 3, 5]),
    ("metrics.acc IS NULL", [3, 5]),
    ("metrics.acc is not null", [1, 2, 4]),
    ("metrics.nope > 0 or metrics.nope < 0", []),
])
def test_metrics(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("params.lr > 0.05", [2, 5]),  # numeric: 'auto' is not a number
    ("params.lr = 0.001", [3]),  # '1e-3' is the number 0.001
    ("params.lr = '1e-3'", [3]),
    ("params.lr = '0.001'", []),  # text compares the text
    ("params.lr > '0.05'", [2, 3, 4, 5]),  # text order
    ("params.layers > 9", [1]),
    ("params.layers > '9'", []),
    ("params.lr != 0.1", [1, 3, 5]),  # 'auto' is no number: no match
    ("params.model = 'rf'", [1, 3]),
    ("params.model != 'rf'", [2, 4]),  # run 5 lacks model
    ("params.model IS NULL", [5]),
    ("params.flag = true", [1]),
    ("params.flag = FALSE", [2]),
    ("params.flag != true", [2]),
])
def test_params(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("tags.team = 'a'", [1, 3]),
    ("tags.team != 'a'", [2, 4]),  # run 5 lacks team
    ("tags.team IS NULL", [5]),
    ("tags.team IS NOT NULL", [1, 2, 3, 4]),
    ("tags.note = 'it''s'", [2]),
    ("tags.note = \"it's\"", [2]),
    ("tags.note = 'it\\'s'", [2]),
    ("tags.note = 'C:\\\\data'", [5]),
])
def test_tags(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("metrics.acc > 0.9 and params.model = 'rf' and tags.team = 'a'", [1]),
    ("metrics.acc > 0.9 or metrics.loss < 0.25 and params.model = 'rf'", [1, 3, 4]),
    ("(metrics.acc > 0.9 or metrics.loss < 0.25) and params.model = 'rf'", [1, 3]),
    ("not params.model = 'rf'", [2, 4, 5]),  # NOT is plain negation: run 5 matches
    ("not metrics.acc > 0.9", [2, 3, 5]),
    ("not not metrics.acc > 0.9", [1, 4]),
    ("NOT (tags.team = 'a' OR tags.team = 'b')", [4, 5]),
    ("not (params.lr != 0.1)", [2, 4]),
    ("metrics.acc > 0.9 AND NOT tags.team = 'c'", [1]),
    ("((metrics.loss < 1)) and (status = 'FINISHED')", [1, 2, 5]),
])
def test_boolean_logic(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("params.model IN ('rf', 'svm')", [1, 2, 3]),
    ("params.model in ('rf')", [1, 3]),
    ("params.model NOT IN ('rf')", [2, 4]),  # run 5 lacks model
    ("not params.model in ('rf')", [2, 4, 5]),
    ("params.lr IN (0.1, 10)", [2, 5]),
    ("params.lr IN (0.1, 'auto')", [2, 4]),  # a number and a text
    ("not params.lr IN (0.1, 'auto')", [1, 3, 5]),
    ("metrics.loss in (0.1, 0.5)", [1, 5]),
    ("status IN ('RUNNING', 'FAILED')", [3, 4]),
    ("status not in ('FINISHED')", [3, 4]),
])
def test_in(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("name LIKE '%a'", [1, 2, 3, 4]),
    ("name like 'eps\\_%'", [5]),
    ("name NOT LIKE '%a'", [5]),
    ("tags.note LIKE '50\\%%'", [3]),  # \% is a literal percent
    ("tags.note LIKE '50%'", [3, 4]),
    ("params.model ILIKE 'rf'", [1, 3, 4]),
    ("params.model NOT ILIKE 'R%'", [2]),
    ("description ILIKE '%MODEL%'", [1]),
    ("tags.team like '%'", [1, 2, 3, 4]),  # a missing key is no match
])
def test_like(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("status = 'RUNNING'", [3]),
    ("attributes.status = 'RUNNING'", [3]),
    ("run.name = 'beta'", [2]),
    ("id = 'r2'", [2]),
    ("attributes.run_id = 'r2'", [2]),
    ("start_time >= 3000", [3, 4, 5]),
    ("end_time IS NULL", [3]),
    ("duration > 1000", [1, 5]),  # run 3 has no end: no duration
    ("duration < 1000", [2, 4]),
    ("duration IS NULL", [3]),
    ("experiment = 'exp-b'", [4, 5]),
    ("experiment LIKE 'exp-%' and user = 'ann'", [1, 3]),
    ("parent_id = 'r1'", [3]),
    ("parent_id IS NULL", [1, 2, 4, 5]),
    ("git_commit = 'abc'", [1]),
    ("git_commit != 'abc'", []),  # NULL commits never match
    ("source_type = 'notebook'", [4]),
    ("source_name = 'train.py' and user != 'ann'", [2, 4, 5]),
    ("STATUS = 'FAILED'", [4]),
])
def test_attributes(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


@pytest.mark.parametrize("filter_string, expected", [
    ("metrics.val.loss = 1", [1]),
    ("metrics.f1-score > 0.5", [2]),
    ("metrics.`f1-score` > 0.5", [2]),
    ('params."learning rate" = 0.5', [2]),
    ("params.`learning rate` = 0.5", [2]),
    ("metric.acc > 0.9 and param.model = 'rf' and tag.team = 'a'", [1]),
    ("METRICS.acc > 0.9", [1, 4]),
    ("metrics.Acc > 0.9", []),  # keys are case-sensitive
])
def test_keys(engine, filter_string, expected):
    assert matches(engine, filter_string) == expected


def test_blank_filter_matches_all(engine):
    assert search(engine, None) == search(engine, "  ") == [5, 4, 3, 2, 1]


def test_experiment_pks(engine):
    assert search(engine, None, None, [2]) == [5, 4]
    assert search(engine, "metrics.loss > 0", None, [1]) == [3, 2, 1]
    assert search(engine, None, None, [1, 2]) == [5, 4, 3, 2, 1]
    assert search(engine, None, None, []) == []


# --- ordering ------------------------------------------------------------------


@pytest.mark.parametrize("order_by, expected", [
    (None, [5, 4, 3, 2, 1]),  # start_time DESC
    (["start_time"], [1, 2, 3, 4, 5]),
    (["metrics.acc DESC"], [4, 1, 2, 5, 3]),  # NaN (3) and missing (5) last
    (["metrics.acc ASC"], [2, 1, 4, 3, 5]),
    (["metrics.acc"], [2, 1, 4, 3, 5]),
    (["params.lr"], [3, 1, 2, 5, 4]),  # numbers as numbers, then text
    (["params.lr desc"], [5, 2, 1, 3, 4]),
    (["tags.team DESC", "start_time"], [4, 2, 1, 3, 5]),
    (["duration"], [4, 2, 1, 5, 3]),  # a tie (1, 5) breaks on pk
    (["duration DESC"], [5, 1, 2, 4, 3]),
    (["experiment DESC", "name"], [4, 5, 1, 2, 3]),
    (["metrics.loss", "metrics.acc DESC"], [1, 3, 2, 5, 4]),
])
def test_order_by(engine, order_by, expected):
    assert search(engine, None, order_by) == expected


def test_order_by_text_param(engine):
    # without run 4's 'RF', whose place among 'rf' depends on the collation
    filter_string = "not params.model = 'RF'"
    assert search(engine, filter_string, ["params.model", "start_time DESC"]) == [3, 1, 2, 5]
    assert search(engine, filter_string, ["params.model DESC", "start_time DESC"]) == [2, 3, 1, 5]


def test_order_by_with_filter_on_the_same_key(engine):
    assert search(engine, "metrics.acc > 0.5", ["metrics.acc DESC"]) == [4, 1, 2]
    assert search(engine, "params.lr > 0", ["params.lr DESC"], [1]) == [2, 1, 3]


def test_paging_is_stable(engine):
    query = compile_search(None, ["status"], None)
    with engine.connect() as conn:
        pages = [
            [pk for (pk,) in conn.execute(query.limit(2).offset(offset))]
            for offset in (0, 2, 4)
        ]
    assert pages == [[4, 1], [2, 5], [3]]  # FAILED, FINISHED x3, RUNNING


# --- the AST ---------------------------------------------------------------------


def test_parse_filter_ast():
    tree = parse_filter(
        "metrics.acc > 0.9 and (params.model = 'rf' or not tags.x IN ('a', \"b\")) "
        "or status is not null"
    )
    assert tree == Or((
        And((
            Comparison(Field("metric", "acc"), ">", Value(0.9)),
            Or((
                Comparison(Field("param", "model"), "=", Value("rf")),
                Not(Comparison(Field("tag", "x"), "IN", (Value("a"), Value("b")))),
            )),
        )),
        Comparison(Field("attribute", "status"), "IS NOT NULL"),
    ))
    assert parse_filter("") is None
    assert parse_filter(None) is None


def test_parse_values_and_positions():
    tree = parse_filter("params.lr = -1e-3")
    assert tree == Comparison(Field("param", "lr"), "=", Value(-0.001))
    assert isinstance(parse_filter("start_time > 12").value.value, int)
    tree = parse_filter("tags.a = 'x'  and  tags.b=\"y\"")
    assert [c.field.pos for c in tree.items] == [0, 19]
    assert [c.value.pos for c in tree.items] == [9, 26]
    assert parse_filter("metrics.a == 1").op == "="
    assert parse_filter("metrics.a <> 1").op == "!="
    assert parse_filter("tags.a not like 'x'").op == "NOT LIKE"
    assert parse_filter("tags.a NOT ILIKE 'x'").op == "NOT ILIKE"


def test_parse_order_by():
    assert parse_order_by(["metrics.acc DESC", "start_time", 'params."a b" asc']) == [
        OrderKey(Field("metric", "acc"), True),
        OrderKey(Field("attribute", "start_time"), False),
        OrderKey(Field("param", "a b"), False),
    ]
    assert parse_order_by(None) == parse_order_by([]) == []
    assert parse_order_by("run.name desc") == [OrderKey(Field("attribute", "name"), True)]


def test_parse_order_by_aggregates():
    assert parse_order_by(["min(metrics.loss) DESC", "MAX( metrics.`f1-score` )"]) == [
        OrderKey(Field("metric", "loss"), True, "min"), OrderKey(Field("metric", "f1-score"), False, "max")]


def test_several_filters_must_all_hold(engine):
    assert sorted(search(engine, ["metrics.loss > 0", "parent_id IS NULL", "  "])) == [1, 2, 5]
    assert search(engine, ["tags.team = 'a'", "parent_id IS NOT NULL"]) == [3]


def test_compile_selects_only_pks_without_limit():
    query = compile_search("metrics.a > 1 and metrics.a < 2", ["metrics.a"], [1])
    assert [c.name for c in query.selected_columns] == ["pk"]
    assert query._limit_clause is None and query._offset_clause is None
    sql = str(query)
    assert sql.count("JOIN latest_metrics") == 1  # one join per key


# --- errors ----------------------------------------------------------------------


def error(filter_string):
    with pytest.raises(InvalidInput) as info:
        parse_filter(filter_string)
    return str(info.value)


def test_error_points_at_the_token():
    assert error("metrics.acc > and x") == (
        "invalid filter: expected a value after '>' at position 14\n"
        "  metrics.acc > and x\n"
        "                ^"
    )


@pytest.mark.parametrize("filter_string, message, pos", [
    ("metrics.acc >", "expected a value after '>'", 13),
    ("metrics.acc > 0.9 and", "expected a field", 21),
    ("tags.team = 'a", "unterminated string", 12),
    ('tags.team = "a', "unterminated string", 12),
    ("metrics.acc > 0.9 metrics.loss < 1", "expected AND, OR or the end of the filter", 18),
    ("metrics.acc > 0.9)", "unmatched ')'", 17),
    ("()", "empty parentheses", 0),
    ("metrics.a > 1 and ( )", "empty parentheses", 18),
    ("(metrics.a > 1", "expected ')' to close the '(' at position 0", 14),
    ("metrics.a", "expected an operator", 9),
    ("metrics.a ~ 1", "unexpected character '~'", 10),
    ("metrics.a > 1 && metrics.b > 1", "unexpected character '&'", 14),
    ("metrics.acc > 'x'", "'metrics.acc' is a number", 14),
    ("start_time > '2024'", "'start_time' is a number", 13),
    ("tags.team = 5", "'tags.team' is text: quote the value, e.g. '5'", 12),
    ("status = 1", "'status' is text", 9),
    ("metrics.acc LIKE '%'", "LIKE needs text, but 'metrics.acc' is a number", 0),
    ("params.model LIKE 5", "LIKE needs a quoted pattern", 18),
    ("params.model = null", "null cannot be compared; use IS NULL", 15),
    ("params.model != null", "use IS NOT NULL", 16),
    ("params.model IN ()", "empty list", 16),
    ("params.model IN ('a' 'b')", "expected ',' or ')'", 21),
    ("params.model IN 'a'", "expected '(' after IN", 16),
    ("params.model IN ('a',)", "expected a value after ','", 21),
    ("params.model IS 'a'", "expected NULL after 'IS'", 16),
    ("params.model NOT = 'a'", "expected IN, LIKE or ILIKE after NOT", 17),
    ("params.flag > true", "true only works with = and !=", 14),
    ("status = true", "true only works with = and !=", 9),
    ("params. = 'a'", "expected a key after 'params.'", 7),
    ("and metrics.a > 1", "expected a field", 0),
    ("metrics.a > `x`", "expected a value after '>'", 12),
])
def test_errors(filter_string, message, pos):
    text = error(filter_string)
    first, line, caret = text.split("\n")[:3]
    assert first.startswith("invalid filter: ")
    assert message in first
    assert first.endswith(f" at position {pos}")
    assert line == "  " + filter_string
    assert caret == "  " + " " * pos + "^"


def test_filter_must_be_a_string():
    with pytest.raises(InvalidInput, match="expected a string, got int"):
        parse_filter(5)


def test_unknown_attribute_lists_the_valid_ones():
    text = error("metrics.acc > 0.5 and acc > 0.9")
    assert "unknown attribute 'acc' at position 22" in text
    assert "valid attributes: status, name, id, start_time" in text
    assert "duration" in text and "parent_id" in text
    assert "metrics.acc" in text.split("\n")[-1]
    assert "unknown attribute 'bogus'" in error("attributes.bogus = 'x'")


def test_unknown_prefix_suggests_metrics_params_tags():
    text = error("metrik.acc > 1")
    assert text.startswith("invalid filter: unknown field prefix 'metrik' at position 0")
    assert "did you mean 'metrics.acc'?" in text
    assert "metrics.<key>, params.<key>, tags.<key>" in text
    assert "did you mean 'params.lr'?" in error("parms.lr = 1")


@pytest.mark.parametrize("entry, message, pos", [
    ("metrics.acc DOWN", "expected ASC, DESC or the end of the entry, found 'DOWN'", 12),
    ("metrics.acc DESC ASC", "expected ASC, DESC or the end of the entry", 17),
    ("bogus", "unknown attribute 'bogus'", 0),
    ("metrik.acc", "unknown field prefix 'metrik'", 0),
    ("DESC", "expected a field", 0),
    ("min(params.lr)", "min() takes a metric, e.g. min(metrics.loss)", 4),
    ("max(metrics.loss DESC", "expected ')' after 'metrics.loss', found 'DESC'", 17),
    ("min(", "expected a field", 4),
])
def test_order_by_errors(entry, message, pos):
    with pytest.raises(InvalidInput) as info:
        parse_order_by(["start_time", entry])
    first, line, caret = str(info.value).split("\n")[:3]
    assert first.startswith("invalid order_by: ") and message in first
    assert first.endswith(f" at position {pos}")
    assert (line, caret) == ("  " + entry, "  " + " " * pos + "^")


@pytest.mark.parametrize("entry", ["", "   ", 3, None])
def test_order_by_entry_must_be_a_string(entry):
    with pytest.raises(InvalidInput, match="invalid order_by"):
        compile_search(None, [entry], None)


# --- a larger table ------------------------------------------------------------------


def test_5000_runs_give_the_same_top_100_as_python(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/big.db")
    schema.metadata.create_all(engine)
    n = 5000
    params = {pk: {f"p{k}": pk % (7 + k) for k in range(5)} for pk in range(1, n + 1)}
    metrics = {pk: {f"m{k}": ((pk * (k + 3)) % 1000) / 1000 for k in range(5)} for pk in range(1, n + 1)}
    with engine.begin() as conn:
        conn.execute(insert(schema.experiments), [
            dict(pk=1, name="big", description="", created_at=0, run_counter=n),
        ])
        conn.execute(insert(schema.runs), [
            _run(pk, 1, 1000 + pk, 2000 + pk, f"run{pk}", "FINISHED", "u") for pk in range(1, n + 1)
        ])
        conn.execute(insert(schema.params), [
            dict(run_pk=pk, key=k, value=str(v), num=float(v))
            for pk, ps in params.items() for k, v in ps.items()
        ])
        conn.execute(insert(schema.latest_metrics), [
            dict(run_pk=pk, key=k, step=0, ts=0, value=v, count=1)
            for pk, ms in metrics.items() for k, v in ms.items()
        ])
    query = compile_search(
        "metrics.m1 > 0.5 and params.p2 = 3", ["metrics.m0 DESC"], [1]
    ).limit(100)
    with engine.connect() as conn:
        got = [pk for (pk,) in conn.execute(query)]
    expected = sorted((pk for pk in params if metrics[pk]["m1"] > 0.5 and params[pk]["p2"] == 3),
                      key=lambda pk: (-metrics[pk]["m0"], -pk))[:100]
    assert got == expected
    engine.dispose()


def test_one_filter_matches_a_notebook_run_and_an_sdk_run_with_the_same_params(any_ws, tmp_path):
    import nbformat

    cell = nbformat.v4.new_code_cell("C = 1.0\nlabel = None\nflag = True\ncfg = {'a': 1}\nlayers = (64, 32)")
    cell.metadata["tags"] = ["parameters"]
    nb = tmp_path / "p.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), nb)
    notebook = any_ws.notebooks.submit(nb, {"layers": [64, 32]}, experiment="p", detach=False).run_id
    with any_ws.experiment("p").start_run(snapshot=False) as run:
        run.log_params({"C": 1.0, "label": None, "flag": True, "cfg": {"a": 1}, "layers": (64, 32)})
    both = {notebook, run.id}
    for query in ("params.C > 0.5", "params.C = 1.0", "params.label = 'null'", "params.flag = true",
                  "params.cfg = '{\"a\": 1}'", "params.layers = '[64, 32]'"):
        assert {r.id for r in any_ws.search_runs(query, experiments=["p"])} == both, query
    table = any_ws.compare_runs([notebook, run.id])
    assert all(a == b for a, b in table["params"].values()), table["params"]
