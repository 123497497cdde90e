"""multipart/form-data bodies (image edits, transcriptions), as the OpenAI SDK sends them."""

from __future__ import annotations

from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from keeptrust.context import UploadedFile
from keeptrust.errors import RequestError


def parse_multipart(raw: bytes, content_type: bytes) -> dict[str, Any]:
    """Fields as strings and files as ``UploadedFile``. A repeated name (``image[]`` or ``image``
    given twice) becomes a list; a trailing ``[]`` is dropped from the name."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise RequestError("multipart body without a boundary", code="invalid_multipart")
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        current.clear()
        current.update(headers={}, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current["headers"][bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].extend(data[start:end])

    def on_part_end() -> None:
        parts.append(dict(current))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
        max_header_count=16,
    )
    try:
        parser.write(raw)
        parser.finalize()
    except Exception as exc:  # any parse failure is the client's malformed body
        raise RequestError(f"the multipart body could not be parsed: {exc}", code="invalid_multipart") from None

    fields: dict[str, Any] = {}
    for part in parts:
        disposition = part["headers"].get(b"content-disposition", b"")
        _, opts = parse_options_header(disposition)
        raw_name = opts.get(b"name")
        if raw_name is None:
            continue
        name = raw_name.decode("utf-8", "replace")
        if name.endswith("[]"):
            name = name[:-2]
        data = bytes(part["data"])
        if b"filename" in opts:
            ctype = part["headers"].get(b"content-type", b"application/octet-stream").decode("latin-1")
            value: Any = UploadedFile(opts[b"filename"].decode("utf-8", "replace"), ctype, data)
        else:
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                raise RequestError(f"form field '{name}' is not UTF-8 text", code="invalid_multipart") from None
        if name in fields:
            existing = fields[name]
            fields[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            fields[name] = value
    return fields
