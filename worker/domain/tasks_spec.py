"""What a task asks of a model: the prompt it renders and the output it must return.

Provider adapters turn a ``TaskRequest`` into their own wire format (tool use, json_schema);
``validate_output`` decides whether an answer is acceptable. New task kinds add a builder here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.domain.config import TaskConfig, TaskKind
from worker.domain.errors import InvalidInput

MAX_LABELS = 1_000  #: labels allowed in one classify batch
MAX_LABEL_CHARS = 200  #: longest label accepted


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One rendered call: provider-neutral."""

    system: str
    prompt: str
    output_name: str  #: tool / schema name
    output_schema: dict[str, Any]  #: JSON Schema of the object the model must return
    max_tokens: int


def resolve_labels(task_name: str, task: TaskConfig, labels: list[str] | None) -> list[str]:
    """The batch's label set: given at submit, else the task's default; refused when absent."""
    chosen = labels if labels else task.labels
    if task.kind is not TaskKind.classify:
        return []
    if not chosen:
        raise InvalidInput(
            f"task '{task_name}' needs labels: pass --labels a,b,c (or 'labels' in the request)"
        )
    cleaned = [label.strip() for label in chosen]
    if any(not label for label in cleaned):
        raise InvalidInput("labels must not be empty strings")
    if len(set(cleaned)) != len(cleaned):
        dupes = sorted({label for label in cleaned if cleaned.count(label) > 1})
        raise InvalidInput(f"label '{dupes[0]}' is given more than once")
    if len(cleaned) > MAX_LABELS:
        raise InvalidInput(f"{len(cleaned)} labels given; the limit is {MAX_LABELS}")
    too_long = [label for label in cleaned if len(label) > MAX_LABEL_CHARS]
    if too_long:
        raise InvalidInput(
            f"label '{too_long[0][:40]}…' is longer than {MAX_LABEL_CHARS} characters"
        )
    return cleaned


def classify_schema(labels: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": labels, "description": "the one chosen label"}
        },
        "required": ["label"],
        "additionalProperties": False,
    }


def build_request(task: TaskConfig, *, text: str, params: dict[str, Any]) -> TaskRequest:
    labels: list[str] = params.get("labels") or []
    prompt = task.prompt.format(text=text, labels=", ".join(labels))
    return TaskRequest(
        system=task.system,
        prompt=prompt,
        output_name="classify",
        output_schema=classify_schema(labels),
        max_tokens=task.max_tokens,
    )


def validate_output(task: TaskConfig, output: Any, *, params: dict[str, Any]) -> str | None:
    """The problem with an answer, or None when it is valid."""
    if not isinstance(output, dict):
        return "the answer is not a JSON object"
    label = output.get("label")
    if not isinstance(label, str):
        return "the answer has no string 'label'"
    if label not in params.get("labels", []):
        return f"label '{label[:80]}' is not in the label set"
    return None
