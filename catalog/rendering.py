"""Package descriptions to safe HTML, through readme_renderer and its nh3 sanitizer.

Markdown (GFM or CommonMark) and reStructuredText are rendered and cleaned by
readme_renderer, exactly as PyPI does; anything else, or a document that fails
to render, is shown as escaped plain text. Scripts, event handlers and
``javascript:`` links never survive ``readme_renderer.clean``.
"""

from __future__ import annotations

from email.message import Message
from functools import lru_cache

import readme_renderer.markdown
import readme_renderer.rst
import readme_renderer.txt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    # Content types carry parameters (``text/markdown; variant=GFM``): parse them
    # the way email headers are parsed, which is what PyPI's metadata uses.
    message = Message()
    message["content-type"] = value or "text/x-rst"
    params = {k.lower(): v for k, v in message.get_params()[1:]}
    return message.get_content_type(), params


@lru_cache(maxsize=512)
def description_render(text: str, content_type: str) -> SafeString:
    """Safe HTML for a package description (cached: pages render the same text often)."""
    if not text:
        return mark_safe("")  # noqa: S308 - empty
    kind, params = _content_type(content_type)
    rendered: str | None = None
    if kind == "text/markdown":
        variant = params.get("variant", "GFM")
        rendered = readme_renderer.markdown.render(
            text, variant=variant if variant in {"GFM", "CommonMark"} else "GFM"
        )
    elif kind == "text/x-rst" or not content_type:
        rendered = readme_renderer.rst.render(text)
    elif kind == "text/plain":
        rendered = readme_renderer.txt.render(text)
    if rendered is None:
        # Unknown type or a document that does not render: escaped text, never raw.
        return mark_safe(f'<pre class="description-text">{escape(text)}</pre>')  # noqa: S308
    return mark_safe(rendered)  # noqa: S308 - cleaned by readme_renderer (nh3)
