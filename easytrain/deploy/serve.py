"""`easytrain serve RUN_DIR`: a finished run's model over HTTP (FastAPI + uvicorn: easytrain[serve]).

POST /predict takes a batch in the run's kind of input (table rows as JSON objects, texts, or
base64-encoded image files) and answers like `easytrain predict`; GET /health, GET /metadata
(the model card) and the OpenAPI document at /openapi.json. Request bodies are validated by
pydantic (a bad one gets 422 and the reason) and limited in size (413); images are limited in
what they decode to (413) and in how many requests decode at once (503: deploy/decodelimit.py).
"""

# No `from __future__ import annotations`: FastAPI reads the request model from the annotation of
# a function defined inside create_app, which must be a real class, not a string.

import sys
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from easytrain.deploy.decodelimit import Busy, DecodeLimit, TooLarge
from easytrain.deploy.predictor import Predictor
from easytrain.errors import EasytrainError, RunFailed

if TYPE_CHECKING:
    import torch
    from fastapi import FastAPI

EXTRA = "pip install 'easytrain[serve]'"
Cell = float | int | str | bool | None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableRequest(_Request):
    rows: list[dict[str, Cell]] = Field(
        min_length=1,
        description="Table rows, one object per example: column → value (null: an empty cell).",
        examples=[[{"age": 41, "city": "paris", "member": True}]],
    )


class FeaturesRequest(_Request):
    rows: list[dict[str, float] | list[float]] = Field(
        min_length=1,
        description="One example per item: feature name → number, or the numbers in order.",
    )


class TextRequest(_Request):
    texts: list[str] = Field(min_length=1, description="One text per example.")


class ImageRequest(_Request):
    images: list[Base64Bytes] = Field(
        min_length=1, description="Image files (JPEG, PNG, WebP, BMP), base64-encoded."
    )


REQUESTS: dict[str, type[_Request]] = {
    "table": TableRequest,
    "features": FeaturesRequest,
    "text": TextRequest,
    "image": ImageRequest,
}


class ClassAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class", description="The predicted class.")
    probabilities: dict[str, float] = Field(description="class → probability.")


class ValueAnswer(BaseModel):
    value: float | list[float] = Field(description="The prediction, in target units.")


class PredictResponse(BaseModel):
    predictions: list[ClassAnswer] | list[ValueAnswer]


def require() -> None:
    for name in ("fastapi", "uvicorn"):
        try:
            __import__(name)
        except ImportError:
            raise RunFailed(f"serve needs {name}: {EXTRA}") from None


def model_inputs(predictor: Predictor, body: _Request) -> "torch.Tensor":
    """The request's examples → model inputs, through the same code as `easytrain predict`."""
    import torch

    prep = predictor.prepare
    if isinstance(body, ImageRequest):
        empty = [i for i, b in enumerate(body.images) if not b]
        if empty:
            raise RunFailed(f"images[{empty[0]}]: empty")
        blobs = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in body.images]
        return prep.images(blobs, [f"images[{i}]" for i in range(len(blobs))])
    if isinstance(body, TextRequest):
        return prep.texts(body.texts, [f"texts[{i}]" for i in range(len(body.texts))])
    assert isinstance(body, TableRequest | FeaturesRequest)
    rows: list[Any] = body.rows
    if rows and isinstance(rows[0], list):
        columns = prep.columns() or None
        if any(not isinstance(r, list) or len(r) != len(rows[0]) for r in rows) or (
            columns and len(rows[0]) != len(columns)
        ):
            raise RunFailed(
                f"rows: every row needs the same {len(columns or rows[0])} numbers"
                + (f" ({', '.join(columns)})" if columns else "")
            )
        frame = pd.DataFrame(rows, columns=columns)
    else:
        frame = pd.DataFrame.from_records(rows)
    return prep.rows(frame, lambda i: f"rows[{i}]", "rows")


def create_app(predictor: Predictor, max_bytes: int, limit: DecodeLimit | None = None) -> "FastAPI":
    from fastapi import FastAPI, HTTPException

    limit = limit or DecodeLimit()

    Body = REQUESTS[predictor.run.kind]
    metadata = predictor.metadata()
    app = FastAPI(
        title=f"easytrain: {predictor.run.recipe.name}",
        description=f"{metadata['task']} on {metadata['input']['kind']} inputs "
        f"({predictor.format}); the model card is at /metadata.",
        version=metadata["easytrain"],
    )
    app.add_middleware(LimitBody, max_bytes=max_bytes)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata")
    def card() -> dict[str, Any]:
        return metadata

    @app.post("/predict", response_model=PredictResponse, response_model_by_alias=True)
    def predict(body: Body) -> Any:  # type: ignore[valid-type]
        try:
            request: _Request = body  # Body is one of the request models, picked at run time
            if isinstance(request, ImageRequest):
                limit.check(request.images)
                with limit.slot():
                    x = model_inputs(predictor, request)
            else:
                x = model_inputs(predictor, request)
        except TooLarge as exc:
            raise HTTPException(413, detail=str(exc)) from None
        except Busy as exc:
            raise HTTPException(503, detail=str(exc)) from None
        except EasytrainError as exc:
            raise HTTPException(422, detail=str(exc)) from None
        return {"predictions": predictor.answers(predictor.outputs(x))}

    return app


class LimitBody:
    """413 for a body over max_bytes: by its Content-Length, or while it streams in without one."""

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException
        from fastapi.responses import JSONResponse

        too_large = f"the request body is over {self.max_bytes} bytes (serve --max-request-mb)"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await JSONResponse({"detail": too_large}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, detail=too_large)  # FastAPI answers it while reading
            return message

        await self.app(scope, limited, send)


def serve_run(
    run_dir: Any, host: str, port: int, format: str | None, max_bytes: int, allow_code: bool
) -> None:
    require()
    import uvicorn

    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.serve_generate import create_generate_app, is_language_model

    if is_language_model(run_dir):  # a fine-tuned language model answers POST /generate
        print(
            f"serving {run_dir} on http://{host}:{port}: POST /generate, GET /health",
            file=sys.stderr,
            flush=True,
        )
        uvicorn.run(create_generate_app(run_dir), host=host, port=port, log_level="warning")
        return
    predictor = Predictor(load_run(run_dir, allow_code), format)
    app = create_app(predictor, max_bytes)
    print(
        f"serving {run_dir} ({predictor.format}) on http://{host}:{port}: POST /predict, "
        "GET /health, GET /metadata, /docs",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
