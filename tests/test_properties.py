"""Property tests: the loader never crashes, and validation always ends in located problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.desired import read_desired
from reconciler.documents import LoadError, iter_documents

# YAML-ish text: the characters that make YAML's structure, plus some that break it
YAMLISH = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,? \n\t0123456789.~\u00e9\u200b\x00")),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_the_loader_never_crashes(text: str) -> None:
    try:
        for doc in iter_documents(text, Path("f.yaml")):
            doc.locate(("a", 0, "b"))
    except LoadError as exc:
        assert exc.line >= 1 and exc.column >= 1 and exc.message


KEYS = st.sampled_from(
    [
        "kind",
        "name",
        "tags",
        "key",
        "valueType",
        "allowedValues",
        "scope",
        "filters",
        "totalThreshold",
        "webhookUrl",
        "fromEnv",
        "absent",
        "id",
        "repos",
        "include",
    ]
)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(
        ["TaggingPolicy", "Guardrail", "LIST", "REGEX", "PROJECT", "yes", "010", "(?=x)", ""]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_validation_of_any_document_ends_in_located_problems(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    import yaml

    (tmp_path / "p.yaml").write_text(yaml.safe_dump(doc))
    state = read_desired(tmp_path)  # must not raise
    for problem in state.problems:
        assert problem.location is not None and problem.message
