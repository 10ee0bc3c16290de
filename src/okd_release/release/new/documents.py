"""The first YAML (or JSON) document of a file, as oc reads an operator's files.

oc decodes them with ghodss/yaml, which reads only the first document of a multi-document stream; the
documents after it are copied into the release unread.
"""

from __future__ import annotations

import datetime
from typing import Any

from okd_release.errors import PayloadError


def first_document(data: bytes) -> Any:
    """The first document's value; None for an empty stream. PayloadError (one line) if it does not parse."""
    import yaml  # PyYAML when a manifest is first read (`new` reads them on the threads that resolve images)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(data)
    try:
        return loader.get_data() if loader.check_data() else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PayloadError(f"{error.problem or error.context or 'invalid document'}{where}") from None
    except yaml.YAMLError as error:  # a ReaderError: bytes that are not text
        raise PayloadError(str(error).splitlines()[0]) from None
    finally:
        loader.dispose()


def is_text(value: Any) -> bool:
    """A non-empty string as oc sees one: yaml.v2 keeps timestamp-like scalars (`2024-01-01`) as strings
    where PyYAML makes dates of them."""
    return isinstance(value, (str, datetime.date)) and bool(str(value))
