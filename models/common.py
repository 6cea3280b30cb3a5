"""Field types and rule helpers shared by every config block."""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Derived objects append suffixes such as "-model-cache"; 40 keeps them within 63.
MAX_NAME_LEN = 40


def _dns_name(value: str) -> str:
    if len(value) > MAX_NAME_LEN:
        raise ValueError(
            f"'{value}' is {len(value)} characters; use at most {MAX_NAME_LEN} "
            "(derived Kubernetes names add suffixes and must stay within 63)"
        )
    if not DNS1123_LABEL.match(value):
        raise ValueError(
            f"'{value}' is not a DNS-1123 label; use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. 'coder-chat')"
        )
    return value


def _image_ref(value: str) -> str:
    tail = value.rsplit("/", 1)[-1]
    if "@sha256:" in value:
        return value
    if ":" not in tail:
        raise ValueError(f"image '{value}' has no tag; pin a version tag such as ':v1.2.3' or a digest")
    if tail.endswith(":latest"):
        raise ValueError(f"image '{value}' uses ':latest'; pin a version tag or a digest")
    return value


DnsName = Annotated[str, AfterValidator(_dns_name)]
ImageRef = Annotated[str, AfterValidator(_image_ref)]
PositiveGiB = Annotated[float, Field(gt=0, le=4096)]
# Per-token USD prices; a self-hosted model has none unless declared.
TokenPrice = Annotated[float, Field(ge=0, le=1)]


_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """Escape line breaks (an echoed value may hold one) so a problem stays one 'key: message' line."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], text)


class Problems:
    """Collects rule violations as 'key.path: what is wrong; how to fix' lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(one_line(f"{path}: {message}"))

    def raise_if_any(self) -> None:
        if self.lines:
            raise ValueError("\n".join(self.lines))


def duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    return dups
