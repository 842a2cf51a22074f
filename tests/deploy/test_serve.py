"""`easytrain serve`: a real server on a loopback port, real HTTP requests, real answers."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import math
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from easytrain.deploy.loaded import load_run
from easytrain.deploy.predictor import Predictor
from easytrain.deploy.serve import ImageRequest, TextRequest, model_inputs
from easytrain.errors import EasytrainError
from tests.conftest import ROOT
from tests.deploy.conftest import Family

LIMIT_MB = 0.02  # 20 kB: a few rows pass, a big batch does not


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None):
    """(status, decoded JSON) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    status, text = response.status, response.read()
    connection.close()
    return status, json.loads(text)


@contextlib.contextmanager
def serving(run_dir: Path, *options: str) -> Iterator[tuple[int, int]]:
    """(port, pid) of a real `easytrain serve RUN_DIR` process once it answers /health."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "easytrain", "serve", str(run_dir), "--port", str(port), *options],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _request(port, "GET", "/health") == (200, {"status": "ok"}):
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server did not answer /health"
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(table_family: Family) -> Iterator[int]:
    with serving(table_family.run, "--max-request-mb", str(LIMIT_MB)) as (port, _):
        yield port


def _rows(family: Family, count: int) -> list[dict]:
    frame = pd.read_csv(family.raw[0]).head(count)
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def test_predict_health_metadata_and_openapi(server: int, table_family: Family) -> None:
    rows = _rows(table_family, 8)  # the target column comes along and is ignored
    status, body = _request(server, "POST", "/predict", {"rows": rows})
    assert status == 200, body
    predictor = Predictor(load_run(table_family.run))
    expected = predictor.answers(predictor.outputs(table_family.test_x[:8]))
    assert [a["class"] for a in body["predictions"]] == [a["class"] for a in expected]
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)
    status, card = _request(server, "GET", "/metadata")
    assert status == 200 and card["classes"] == ["no", "yes"]
    assert card["threshold"] == table_family.summary["threshold"]["value"]
    assert card["input"]["encoding"]["table"]["categorical"]["city"]["fill"] == "<missing>"
    status, openapi = _request(server, "GET", "/openapi.json")
    assert status == 200 and "/predict" in openapi["paths"]
    assert "TableRequest" in openapi["components"]["schemas"]


def test_bad_requests_get_422_with_the_reason(server: int, table_family: Family) -> None:
    row = _rows(table_family, 1)[0]
    cases = [
        ({"rows": []}, "at least 1 item"),
        ({"rows": "age=3"}, "valid list"),
        ({"rows": [row], "extra": 1}, "Extra inputs are not permitted"),
        ({"rows": [{"age": 40, "income": 1.0}]}, "no column(s) member, city"),
        ({"rows": [row | {"age": "old"}]}, "rows[0]: column 'age' holds 'old'"),
    ]
    for body, words in cases:
        status, answer = _request(server, "POST", "/predict", body)
        assert status == 422, (body, answer)
        assert words in json.dumps(answer), answer
    status, answer = _request(server, "POST", "/predict", raw=b'{"rows": [')
    assert status == 422 and answer["detail"][0]["type"] == "json_invalid"


def test_oversized_requests_get_413(server: int, table_family: Family) -> None:
    rows = _rows(table_family, 1) * 400  # about 40 kB
    status, answer = _request(server, "POST", "/predict", {"rows": rows})
    assert status == 413 and "over 20000 bytes" in answer["detail"]
    # without a Content-Length (chunked), the body is counted as it arrives
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    chunks = iter(
        [json.dumps({"rows": rows}).encode()[i : i + 4096] for i in range(0, 40_000, 4096)]
    )
    connection.request(
        "POST",
        "/predict",
        body=chunks,
        encode_chunked=True,
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 413, response.read()
    connection.close()
    assert _request(server, "GET", "/health")[0] == 200  # and the server is still up


def test_image_and_text_requests_prepare_what_predict_prepares(
    image_family: Family, text_family: Family
) -> None:
    files = image_family.raw[:3]
    request = ImageRequest(images=[base64.b64encode(f.read_bytes()) for f in files])
    predictor = Predictor(load_run(image_family.run))
    assert torch.equal(model_inputs(predictor, request), image_family.test_x[:3])
    with pytest.raises(ValidationError, match="base64"):
        ImageRequest(images=["not base64!"])
    for blob, words in ((b"", "images[0]: empty"), (b"GIF89a", "images[0]: cannot read")):
        with pytest.raises(EasytrainError, match=re.escape(words)):  # the server answers 422
            model_inputs(predictor, ImageRequest(images=[base64.b64encode(blob)]))
    texts = text_family.texts or []
    predictor = Predictor(load_run(text_family.run))
    request = TextRequest(texts=texts[:4])
    assert torch.equal(model_inputs(predictor, request), text_family.test_x[:4])


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def image_server(image_family: Family) -> Iterator[tuple[int, int]]:
    """(port, pid) of `easytrain serve` on the image run."""
    with serving(image_family.run) as found:
        yield found


def test_an_image_that_decodes_too_big_gets_413_and_memory_stays_flat(
    image_server: tuple[int, int], image_family: Family
) -> None:
    """A 9000×9000 PNG of 80 kB (under the body limit and the pixel limit) would decode to
    81 MB grey, 243 MB in colour; it is sized from its header and refused, four at once too."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.hardening.corrupt import png_bomb
    from tests.hardening.tally import record

    port, pid = image_server
    good = {"images": [base64.b64encode(image_family.raw[0].read_bytes()).decode()]}
    assert _request(port, "POST", "/predict", good)[0] == 200
    before = _rss_mb(pid)
    big = {"images": [base64.b64encode(png_bomb(9000, 9000)).decode()]}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _request(port, "POST", "/predict", big), range(4)))
    after = _rss_mb(pid)
    assert [status for status, _ in answers] == [413] * 4, answers
    assert "would decode to over 128 MiB" in answers[0][1]["detail"]
    assert after - before < 40, f"RSS {before:.0f} → {after:.0f} MB"
    assert _request(port, "POST", "/predict", good)[0] == 200
    record("serve: a 9000×9000 PNG (80 kB), four at once", "HTTP 413", 4)
    record("serve: RSS growth over four 9000×9000 PNGs (MB)", f"+{max(after - before, 0):.0f} MB")


def test_decoding_slots_answer_busy_when_all_are_taken() -> None:
    """Only DECODING_AT_ONCE requests decode at a time; one that cannot get a turn is told so
    (the server answers 503) instead of adding its images to memory."""
    from easytrain.deploy.decodelimit import Busy, DecodeLimit, TooLarge
    from tests.hardening.corrupt import png_bomb

    limit = DecodeLimit(budget=20_000, at_once=1, wait_s=0.05)
    with limit.slot(), pytest.raises(Busy, match="busy"), limit.slot():
        pass
    with limit.slot():  # freed again
        pass
    limit.check([png_bomb(50, 50)] * 2)  # 2 × 7,500 bytes (sized as colour)
    with pytest.raises(TooLarge, match=r"images\[1\]"):
        limit.check([png_bomb(50, 50), png_bomb(80, 80)])
