"""Reading a py-spy profile of a benchmark run: where its samples went, by layer and by
function (`python bench/lifecycle.py --profile-summary RAW`, docs/performance.md).

Separate from bench/lifecycle.py because it runs nothing — it only reads a
`py-spy record --gil --format raw` file — and its table of layers is the part that
changes when the code's layout does, not the benchmark.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Innermost match wins: a pydantic call made by the converter inside the workflow counts
# as pydantic. Substrings of py-spy's "function (file:line)" frames.
LAYERS = (
    ("codec (AES-GCM sealing)", ("cryptography/", "csflow/crypto/codec", "crypto/envelope")),
    ("pydantic (validate / dump)", ("pydantic_core", "pydantic/")),
    ("protobuf / JSON", ("google/protobuf", "json/")),
    (
        "payload conversion (temporalio.converter)",
        ("temporalio/converter", "temporalio/contrib/pydantic"),
    ),
    ("SQL (asyncpg)", ("asyncpg/",)),
    ("logging", ("structlog/", "logging/")),
    ("workflow sandbox", ("workflow_sandbox",)),
    ("csflow workflow code", ("workflows/",)),
    ("csflow activity code", ("activities/", "csflow/store", "csflow/notify", "csflow/channels")),
    ("csflow domain / contracts", ("csflow/",)),
    ("SDK workflow runtime", ("temporalio/worker/_workflow", "temporalio/workflow.py")),
    ("SDK activity runtime", ("temporalio/worker/_activity", "temporalio/activity.py")),
    ("client / starter", ("temporalio/client", "temporalio/service", "starter/")),
    ("bench driver", ("bench/",)),
    ("asyncio event loop", ("asyncio/", "selectors")),
)


def profile_summary(path: Path, top: int = 25) -> None:
    """Where the samples of a `py-spy record --format raw` file went: by layer (innermost
    frame that matches one), then the busiest leaf functions and csflow functions."""
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1]] += n
        if any("_find_and_load" in frame for frame in frames):
            # The sandbox imports the workflow's modules afresh for every run it starts.
            sandboxed = any("workflow_sandbox" in frame for frame in frames)
            layers[
                "workflow sandbox: imports per workflow run"
                if sandboxed
                else "process start-up: imports"
            ] += n
            continue
        layer = next(
            (
                name
                for frame in reversed(frames)
                for name, keys in LAYERS
                if any(k in frame for k in keys)
            ),
            "other (SDK internals, threads)",
        )
        layers[layer] += n
        for frame in set(frames):
            if any(k in frame for k in ("workflows/", "activities/", "csflow/", "starter/")):
                inclusive[frame] += n
    print(f"{total} samples")
    print("\nby layer (innermost frame):")
    for name, n in layers.most_common():
        print(f"  {n / total:6.1%}  {name}")
    print("\nbusiest leaf functions (self time):")
    for name, n in leaves.most_common(top):
        print(f"  {n / total:6.1%}  {name}")
    print("\ncsflow functions, inclusive (time spent in them and what they call):")
    for name, n in inclusive.most_common(top):
        print(f"  {n / total:6.1%}  {name}")
