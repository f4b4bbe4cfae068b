"""Package descriptions to safe HTML, once, when a package is written.

Markdown (GFM or CommonMark) and reStructuredText are rendered and cleaned by
readme_renderer, exactly as PyPI does; anything else, or a document that fails
to render, is shown as escaped plain text. Scripts, event handlers and
``javascript:`` links never survive ``readme_renderer.clean``.

Rendering is work done when data is written, never per request: the HTML is
stored beside the source (``Package.description_html``, and through
``catalog/mapping.py`` in the package document, so both read stores serve the
same bytes). Rendering time grows with the text and docutils has slow paths,
so a description is bounded twice:

- ``DESCRIPTION_MAX_LENGTH``: the most a description may hold. Import refuses
  longer ones (``catalog/services/importing/``); a longer stored one is shown
  as escaped text without trying.
- Descriptions longer than ``RENDER_IN_PROCESS_MAX_LENGTH`` are rendered in a
  child process given ``RENDER_TIMEOUT_SECONDS``; one that takes longer (or
  crashes the renderer) is shown as escaped text.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from email.message import Message
from pathlib import Path

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

# The most characters a description may hold (PyPI's README sizes are the
# guide: its largest descriptions are a few hundred kilobytes). Import refuses
# longer ones; pages show a longer stored one as escaped text.
DESCRIPTION_MAX_LENGTH = 512 * 1024
# Up to this many characters a description renders in the writing process
# (docutils needs about 0.2 s for 16 KiB of reStructuredText here).
RENDER_IN_PROCESS_MAX_LENGTH = 16 * 1024
# A longer description gets this long in a child process, then is escaped text.
RENDER_TIMEOUT_SECONDS = 30.0

_ROOT = Path(__file__).resolve().parent.parent


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    # Content types carry parameters (``text/markdown; variant=GFM``): parse them
    # the way email headers are parsed, which is what PyPI's metadata uses.
    message = Message()
    message["content-type"] = value or "text/x-rst"
    params = {k.lower(): v for k, v in message.get_params()[1:]}
    return message.get_content_type(), params


def escaped_text(text: str) -> str:
    """The source as text: what a page shows for a description that does not render."""
    return f'<pre class="description-text">{escape(text)}</pre>'


def _render(text: str, content_type: str) -> str | None:
    """readme_renderer's sanitized HTML, or None (unknown type, or it does not render)."""
    import readme_renderer.markdown
    import readme_renderer.rst
    import readme_renderer.txt

    kind, params = _content_type(content_type)
    if kind == "text/markdown":
        variant = params.get("variant", "GFM")
        return readme_renderer.markdown.render(
            text, variant=variant if variant in {"GFM", "CommonMark"} else "GFM"
        )
    if kind == "text/x-rst" or not content_type:
        return readme_renderer.rst.render(text)
    if kind == "text/plain":
        return readme_renderer.txt.render(text)
    return None


def _render_in_child(text: str, content_type: str) -> str | None:
    payload = json.dumps({"text": text, "content_type": content_type})
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
    }
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "catalog.rendering"],
            input=payload.encode(),
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            cwd=_ROOT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning(
            "description (%s, %d characters) not rendered in %s s: stored as escaped text",
            content_type or "no content type",
            len(text),
            RENDER_TIMEOUT_SECONDS,
        )
        return None
    except OSError as exc:
        logger.warning("description renderer could not start (%s): stored as escaped text", exc)
        return None
    if done.returncode != 0:
        logger.warning(
            "description renderer exited with %s: stored as escaped text (%s)",
            done.returncode,
            done.stderr.decode(errors="replace").strip()[-500:],
        )
        return None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        logger.warning("description renderer's output is not JSON: stored as escaped text")
        return None
    return result if isinstance(result, str) else None


def description_html_render(text: str, content_type: str) -> str:
    """The HTML stored for a description: sanitized, or the source as escaped text."""
    if not text:
        return ""
    if len(text) > DESCRIPTION_MAX_LENGTH:
        return escaped_text(text)
    if len(text) <= RENDER_IN_PROCESS_MAX_LENGTH:
        try:
            rendered = _render(text, content_type)
        except Exception:  # any renderer failure means "show the text"
            logger.warning(
                "description (%s) could not be rendered: stored as escaped text",
                content_type or "no content type",
                exc_info=True,
            )
            rendered = None
    else:
        rendered = _render_in_child(text, content_type)
    return escaped_text(text) if rendered is None else rendered


def description_render(text: str, content_type: str) -> SafeString:
    """Safe HTML for a package description (rendered now: for writes and tests)."""
    return mark_safe(description_html_render(text, content_type))  # noqa: S308 - sanitized/escaped


def description_show(html: str, text: str) -> SafeString:
    """What a page shows: the stored HTML; escaped source if a row has none yet."""
    if html:
        return mark_safe(html)  # noqa: S308 - rendered by description_html_render
    return mark_safe(escaped_text(text)) if text else mark_safe("")  # noqa: S308


def _child_main() -> int:
    data = json.load(sys.stdin)
    try:
        rendered = _render(data["text"], data["content_type"])
    except Exception:  # the parent logs the traceback (stderr) and shows the text
        traceback.print_exc()
        return 1
    sys.stdout.write(json.dumps(rendered))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
