"""Batch operations (``/batches``): request shapes and the results archive.

Mailchimp runs a batch asynchronously. When it is ``finished``, its
``response_body_url`` points to a gzipped tar of JSON files; each file holds
an array of ``{"operation_id", "status_code", "response"}`` where
``response`` is itself a JSON *string*. :func:`parse_batch_archive` reads
every file (paged GET results may span several) without extracting to disk.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from target_mailchimp.api.transport import ApiResponse, encode_json_body

BATCH_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
FINISHED = "finished"


@dataclass(frozen=True)
class BatchOperation:
    """One operation of a batch; ``body`` is sent as a JSON string."""

    method: str
    path: str
    operation_id: str | None = None
    body: Mapping[str, Any] | str | None = None
    params: Mapping[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        method = self.method.upper()
        if method not in BATCH_METHODS:
            raise ValueError(
                f"batch operation method {self.method!r} is not one of {BATCH_METHODS}"
            )
        if not self.path.startswith("/") or "://" in self.path:
            raise ValueError(
                f"batch operation path must be relative to /3.0 and start with '/': {self.path!r}"
            )
        op: dict[str, Any] = {"method": method, "path": self.path}
        if self.operation_id is not None:
            op["operation_id"] = str(self.operation_id)
        if self.body is not None:
            op["body"] = (
                self.body if isinstance(self.body, str) else encode_json_body(self.body).decode()
            )
        if self.params:
            op["params"] = dict(self.params)
        return op

    @classmethod
    def coerce(cls, op: BatchOperation | Mapping[str, Any]) -> BatchOperation:
        if isinstance(op, BatchOperation):
            return op
        unknown = set(op) - {"method", "path", "operation_id", "body", "params"}
        if unknown:
            raise ValueError(f"unknown batch operation keys: {sorted(unknown)}")
        return cls(
            method=str(op["method"]),
            path=str(op["path"]),
            operation_id=op.get("operation_id"),
            body=op.get("body"),
            params=op.get("params"),
        )


def operations_to_wire(ops: Iterable[BatchOperation | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [BatchOperation.coerce(op).to_wire() for op in ops]


@dataclass(frozen=True)
class BatchStatus:
    """A batch object as Mailchimp reports it."""

    id: str
    status: str
    total_operations: int
    finished_operations: int
    errored_operations: int
    submitted_at: str
    completed_at: str
    response_body_url: str
    raw: dict[str, Any] = field(repr=False)
    response: ApiResponse | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], response: ApiResponse | None = None) -> BatchStatus:
        def num(key: str) -> int:
            try:
                return int(raw.get(key) or 0)
            except (TypeError, ValueError):
                return 0

        return cls(
            id=str(raw.get("id") or ""),
            status=str(raw.get("status") or ""),
            total_operations=num("total_operations"),
            finished_operations=num("finished_operations"),
            errored_operations=num("errored_operations"),
            submitted_at=str(raw.get("submitted_at") or ""),
            completed_at=str(raw.get("completed_at") or ""),
            response_body_url=str(raw.get("response_body_url") or ""),
            raw=dict(raw),
            response=response,
        )

    @property
    def finished(self) -> bool:
        return self.status == FINISHED

    @property
    def succeeded(self) -> bool:
        """Finished with no errored operation (``finished_operations`` counts errors too)."""
        return self.finished and self.errored_operations == 0


@dataclass(frozen=True)
class BatchOperationResult:
    """The outcome of one operation, from the results archive."""

    operation_id: str | None
    status_code: int
    response: Any
    raw_response: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def title(self) -> str:
        return str(self.response.get("title") or "") if isinstance(self.response, dict) else ""

    @property
    def detail(self) -> str:
        return str(self.response.get("detail") or "") if isinstance(self.response, dict) else ""


@dataclass(frozen=True)
class BatchRun:
    """A submitted, finished and downloaded batch."""

    status: BatchStatus
    results: list[BatchOperationResult]

    def by_operation_id(self) -> dict[str | None, BatchOperationResult]:
        return {r.operation_id: r for r in self.results}

    @property
    def failed(self) -> list[BatchOperationResult]:
        return [r for r in self.results if not r.ok]


class BatchArchiveError(ValueError):
    """The results archive is not a gzipped tar of JSON arrays."""


def _parse_entry(item: Any, member_name: str) -> BatchOperationResult:
    if not isinstance(item, Mapping):
        raise BatchArchiveError(f"{member_name}: an entry is not an object")
    raw = item.get("response")
    if isinstance(raw, str):
        try:
            response: Any = json.loads(raw) if raw.strip() else None
        except ValueError:
            response = None
        raw_text = raw
    else:
        # Tolerate an already-decoded response.
        response = raw
        raw_text = json.dumps(raw) if raw is not None else ""
    try:
        status_code = int(item.get("status_code") or 0)
    except (TypeError, ValueError):
        status_code = 0
    op_id = item.get("operation_id")
    return BatchOperationResult(
        operation_id=None if op_id is None else str(op_id),
        status_code=status_code,
        response=response,
        raw_response=raw_text,
    )


def parse_batch_archive(fileobj: IO[bytes]) -> list[BatchOperationResult]:
    """Every operation result in a results archive (gzipped tar of JSON files)."""
    results: list[BatchOperationResult] = []
    try:
        with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                text = handle.read()
                if not text.strip():
                    continue
                try:
                    doc = json.loads(text)
                except ValueError as exc:
                    raise BatchArchiveError(f"{member.name}: not JSON ({exc})") from None
                items = doc if isinstance(doc, list) else [doc]
                results.extend(_parse_entry(item, member.name) for item in items)
    except tarfile.TarError as exc:
        raise BatchArchiveError(
            f"the batch results are not a readable tar archive: {exc}"
        ) from None
    return results
