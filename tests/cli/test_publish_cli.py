"""`dramatis chronicle --format html|md|json --out --publish` and `dramatis media` end to end,
publishing to the filesystem store by default and to S3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

import json
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dramatis.cli import main
from moto_support import MotoS3

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def play(capsys: pytest.CaptureFixture[str], turns: int = 8) -> str:
    code, out, err = run(capsys, "play", "salt-road", "--turns", str(turns), "--offline", "--json")
    assert code == 0, err
    return str(json.loads(out)["campaign_id"])


def status(capsys: pytest.CaptureFixture[str], cid: str) -> str:
    code, out, _ = run(capsys, "chronicle", cid, "--format", "json")
    assert code == 0
    return str(json.loads(out)["status"])


def test_html_export_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cid = play(capsys)
    target = tmp_path / "book" / "salt.html"
    code, _, err = run(capsys, "chronicle", cid, "--format", "html", "--out", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    parser = HTMLParser()
    parser.feed(text)  # parses as HTML
    assert text.startswith("<!DOCTYPE html>") and 'id="chapter-1"' in text
    assert status(capsys, cid) == "draft"  # exporting does not publish


def test_media_attach_and_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cid = play(capsys)
    image = tmp_path / "map.png"
    image.write_bytes(PNG)
    code, out, err = run(
        capsys, "media", "attach", cid, str(image), "--alt", "The road", "--chapter", "1"
    )
    assert code == 0, err
    assert "image/png" in out and "file://" in out
    code, out, _ = run(capsys, "media", "list", cid, "--json")
    [asset] = json.loads(out)
    assert asset["accessibility_text"] == "The road" and asset["chapter"] == 1


@pytest.mark.parametrize(
    ("content", "extra", "reason"),
    [
        (b"words", [], "not a media type"),
        (PNG, ["--chapter", "40"], "chapter 40"),
        (None, [], "no file"),
    ],
)
def test_bad_media_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes | None,
    extra: list[str],
    reason: str,
) -> None:
    cid = play(capsys, turns=3)
    path = tmp_path / "thing.png"
    if content is not None:
        path.write_bytes(content)
    code, _, err = run(capsys, "media", "attach", cid, str(path), "--alt", "x", *extra)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and reason in err


def test_attach_without_alt_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "media", "attach", "abc", str(tmp_path / "a.png"))
    assert code == 2 and "--alt" in err


def test_publish_to_the_data_dir_by_default(
    capsys: pytest.CaptureFixture[str], isolated_environment: Path
) -> None:
    cid = play(capsys)
    code, out, err = run(capsys, "chronicle", cid, "--publish")
    assert code == 0, err
    url = out.split(" to ", 1)[1].split()[0]
    assert url.startswith("file://") and url.endswith(".html")
    assert str(isolated_environment / "media") in url
    assert status(capsys, cid) == "published"
    code, _, err = run(capsys, "chronicle", cid, "--publish")
    assert code == 2 and "already published" in err


def test_publish_to_s3_fails_cleanly_while_down_and_retries(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto_s3: MotoS3,
    tmp_path: Path,
) -> None:
    bucket = f"chronicles-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DRAMATIS_S3_BUCKET", bucket)
    monkeypatch.setenv("DRAMATIS_S3_ENDPOINT_URL", moto_s3.endpoint_url)
    cid = play(capsys)

    # the bucket is missing: one clear line, nothing recorded
    code, _, err = run(capsys, "chronicle", cid, "--publish")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "does not exist" in err and "publish again" in err
    assert status(capsys, cid) == "draft"

    # media go to S3 too
    moto_s3.create_bucket(bucket)
    image = tmp_path / "map.png"
    image.write_bytes(PNG)
    code, out, err = run(capsys, "media", "attach", cid, str(image), "--alt", "Map")
    assert code == 0, err
    assert f"s3://{bucket}/chronicles/" in out

    # the server is down: one clear line, the chronicle stays a local draft
    moto_s3.stop()
    code, _, err = run(capsys, "chronicle", cid, "--publish", "--format", "md")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "cannot reach S3" in err and "kept at" in err
    local = Path(err.split("kept at ", 1)[1].split(";", 1)[0])
    assert local.is_file()

    # it is back: publishing again succeeds and records where it went
    moto_s3.start()
    if bucket not in {b["Name"] for b in moto_s3.client().list_buckets()["Buckets"]}:
        moto_s3.create_bucket(bucket)
    keys = [
        item["Key"] for item in moto_s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert not [key for key in keys if key.endswith(".md")]  # nothing half-published
    code, out, err = run(capsys, "chronicle", cid, "--publish", "--format", "md")
    assert code == 0, err
    assert f"s3://{bucket}/chronicles/{cid}/" in out
    keys = [item["Key"] for item in moto_s3.client().list_objects_v2(Bucket=bucket)["Contents"]]
    published = [key for key in keys if key.endswith(".md")]
    assert len(published) == 1
    body = moto_s3.client().get_object(Bucket=bucket, Key=published[0])["Body"].read()
    assert body.decode("utf-8").startswith("---\n")
    assert status(capsys, cid) == "published"


def test_publish_s3_flag_off_publishes_to_files_and_leaves_s3_alone(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto_s3: MotoS3,
) -> None:
    bucket = f"chronicles-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DRAMATIS_S3_BUCKET", bucket)
    monkeypatch.setenv("DRAMATIS_S3_ENDPOINT_URL", moto_s3.endpoint_url)
    moto_s3.create_bucket(bucket)
    cid = play(capsys)
    code, _, err = run(
        capsys,
        "flags",
        "set",
        "publish.s3",
        "--stage",
        "off",
        "--owner",
        "ana",
        "--rollback-plan",
        "set on once the bucket is healthy",
    )
    assert code == 0, err
    code, out, err = run(capsys, "chronicle", cid, "--publish", "--format", "md")
    assert code == 0, err
    assert "file://" in out
    assert "Contents" not in moto_s3.client().list_objects_v2(Bucket=bucket)
    assert status(capsys, cid) == "published"
