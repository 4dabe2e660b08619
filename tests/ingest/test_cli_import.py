"""`playbook import` and `playbook template`: thin commands, honest exit codes."""

from __future__ import annotations

from click.testing import CliRunner
from ingest_support import shopify_order, write_shopify_orders

from opslib.cli import main
from opslib.schema import TABLES, read_for_validation, table_path


def _settings(tmp_path):
    path = tmp_path / "playbook.toml"
    path.write_text('[store]\ntimezone = "America/New_York"\ncurrency = "USD"\n',
                    encoding="utf-8")
    return str(path)


def test_import_prints_the_reconciliation_and_exits_0(tmp_path):
    """Every row accounted for: exit 0 and the rows-read line."""
    path = write_shopify_orders(tmp_path / "o.csv", [
        shopify_order("#1", "1", "2024-05-01 10:00:00 -0400", [("A", 1, "5")])])
    result = CliRunner().invoke(main, ["import", "shopify-orders", str(path), "--data",
                                       str(tmp_path / "d"), "--settings", _settings(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "rows read 1 = loaded 1 + rejected 0 + duplicates skipped 0" in result.output


def test_missing_column_exits_2_with_the_reason(tmp_path):
    """A file without a required column: one readable line, exit 2, no traceback."""
    path = tmp_path / "o.csv"
    path.write_text("Name,Email\n#1,a@b.invalid\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "shopify-orders", str(path), "--data",
                                       str(tmp_path / "d"), "--settings", _settings(tmp_path)])
    assert result.exit_code == 2
    assert "required column 'Id'" in result.output and "Traceback" not in result.output


def test_csv_without_mapping_is_refused_unless_it_is_a_template(tmp_path):
    """A template file imports with no mapping; any other CSV asks for --mapping."""
    runner = CliRunner()
    out = tmp_path / "promotions.csv"
    made = runner.invoke(main, ["template", "promotions", "--out", str(out)])
    assert made.exit_code == 0 and out.read_text().strip() == \
        ",".join(TABLES["promotions"].column_names)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write("SPRING10,Spring sale,2024-03-01 00:00,2024-03-31 23:59,percent,10\n")
    done = runner.invoke(main, ["import", "csv", str(out), "--data", str(tmp_path / "d"),
                                "--settings", _settings(tmp_path)])
    assert done.exit_code == 0, done.output
    promotions = read_for_validation(table_path(tmp_path / "d", "promotions"))
    assert promotions.promo_code.tolist() == ["SPRING10"]
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    refused = runner.invoke(main, ["import", "csv", str(other), "--data", str(tmp_path / "d"),
                                   "--settings", _settings(tmp_path)])
    assert refused.exit_code == 2 and "needs --mapping" in refused.output


def test_every_template_table_has_a_template(tmp_path):
    """content_calendar, purchase_orders, competitor_prices, promotions."""
    for table in ("content_calendar", "purchase_orders", "competitor_prices", "promotions"):
        out = tmp_path / f"{table}.csv"
        result = CliRunner().invoke(main, ["template", table, "--out", str(out)])
        assert result.exit_code == 0
        assert out.read_text(encoding="utf-8").strip().split(",") == TABLES[table].column_names


def test_order_lines_in_their_own_columns_import_with_or_without_titles(tmp_path):
    """A CSV in order_lines' own columns needs no mapping, whether written before lines had
    a title (the column is then empty) or with it."""
    runner = CliRunner()
    data, settings = str(tmp_path / "d"), _settings(tmp_path)
    orders = write_shopify_orders(tmp_path / "o.csv", [
        shopify_order("#1", "1", "2024-05-01 10:00:00 -0400", [("A", 1, "5")]),
        shopify_order("#2", "2", "2024-05-02 10:00:00 -0400", [("A", 1, "5")])])
    assert runner.invoke(main, ["import", "shopify-orders", str(orders), "--data", data,
                                "--settings", settings]).exit_code == 0
    old_header = [c for c in TABLES["order_lines"].column_names if c != "title"]
    before = tmp_path / "lines_before.csv"
    before.write_text(",".join(old_header) + "\n1,1,,2,3.5,0,2024-05-01 14:00\n",
                      encoding="utf-8")
    with_titles = tmp_path / "lines.csv"
    with_titles.write_text(",".join(TABLES["order_lines"].column_names) +
                           "\n2,1,,1,2.0,0,2024-05-02 14:00,Tip\n", encoding="utf-8")
    for path in (before, with_titles):
        done = runner.invoke(main, ["import", "csv", str(path), "--data", data,
                                    "--settings", settings])
        assert done.exit_code == 0 and "loaded 1 " in done.output, done.output
    lines = read_for_validation(table_path(tmp_path / "d", "order_lines")).set_index(
        "order_id")
    assert lines.title.isna()["1"] and lines.title["2"] == "Tip"
    assert lines.quantity.to_dict() == {"1": 2, "2": 1}
