"""The offline CLI: JSON Lines in, one ranked line per demand out, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.match_eval import main

SPECIALISTS = [
    {
        "id": "s1",
        "name": "王工",
        "expertise": "焊接工艺与焊缝无损检测",
        "keywords": ["焊接"],
        "institution": "大连理工大学",
        "city": "大连",
    },
    {"id": "s2", "expertise": "水稻育种", "keywords": [], "city": ""},
    {"id": "s3", "name": "Ann", "expertise": "Corrosion of offshore steel"},
]
DEMANDS = [
    {
        "id": "d1",
        "title": "焊缝开裂",
        "description": "焊的地方有裂纹",
        "keywords": [],
        "city": "大连",
    },
    {"id": "d2", "title": "Rust on pipes"},
]


def write(path: Path, rows: list[dict[str, object]], extra: str = "") -> Path:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows) + extra,
        encoding="utf-8",
    )
    return path


def run(tmp_path: Path, *extra: str, demands: str | None = None) -> list[str]:
    specialists = write(tmp_path / "s.jsonl", SPECIALISTS)
    demand_file = demands or str(write(tmp_path / "d.jsonl", DEMANDS))
    args = ["--specialists", str(specialists), "--demands", demand_file, *extra]
    assert main(args) == 0
    return []


def test_ranks_every_demand_with_scores_and_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, "--top", "2")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["demand_id"] for line in lines] == ["d1", "d2"]
    first = lines[0]["candidates"]
    assert len(first) == 2
    assert first[0]["specialist_id"] == "s1"
    assert 0 <= first[1]["score"] <= first[0]["score"] <= 1
    assert first[0]["reasons"][0].startswith("共同术语：焊")
    assert lines[1]["candidates"][0]["specialist_id"] == "s3"
    # The rice breeder shares nothing with a weld crack: listed, but below the floor.
    assert [c["below_floor"] for c in first] == [False, True]


def test_output_keeps_chinese_readable_and_reasons_follow_the_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, "--top", "1", "--locale", "en")
    out = capsys.readouterr().out
    assert "\\u" not in out
    reasons = json.loads(out.splitlines()[0])["candidates"][0]["reasons"]
    assert reasons[0].startswith("Shared terms: weld")


def test_broken_line_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specialists = write(tmp_path / "s.jsonl", SPECIALISTS, extra='{"id": "s4", "expertise": \n')
    demands = write(tmp_path / "d.jsonl", DEMANDS)
    status = main(["--specialists", str(specialists), "--demands", str(demands)])
    assert status == 2
    captured = capsys.readouterr()
    assert f"{specialists}:4:" in captured.err
    assert captured.out == ""


def test_missing_id_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specialists = write(tmp_path / "s.jsonl", SPECIALISTS)
    demands = write(tmp_path / "d.jsonl", [DEMANDS[0], {"title": "无编号"}])
    assert main(["--specialists", str(specialists), "--demands", str(demands)]) == 2
    err = capsys.readouterr().err
    assert f"{demands}:2:" in err
    assert "id" in err


def test_missing_and_empty_fields_are_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demands = write(tmp_path / "d.jsonl", [{"id": "d9"}, {"id": "d8", "keywords": None}])
    run(tmp_path, demands=str(demands))
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_no_specialists_gives_empty_candidate_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specialists = tmp_path / "none.jsonl"
    specialists.write_text("", encoding="utf-8")
    demands = write(tmp_path / "d.jsonl", DEMANDS)
    assert main(["--specialists", str(specialists), "--demands", str(demands)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["candidates"] for line in lines] == [[], []]
