"""License names to SPDX identifiers, where a name clearly denotes one."""

from __future__ import annotations

from functools import lru_cache

# Common license names that name exactly one SPDX license. Ambiguous ones
# ("BSD License", "GPL", "GNU GPL v3" without "only"/"or later") stay unmapped.
_LICENSE_NAMES = {
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit-license": "MIT",
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "bsd 2-clause license": "BSD-2-Clause",
    "bsd 3-clause license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "simplified bsd license": "BSD-2-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "the unlicense": "Unlicense",
    "the unlicense (unlicense)": "Unlicense",
    "python software foundation license": "PSF-2.0",
    "zlib license": "Zlib",
    "boost software license 1.0": "BSL-1.0",
    "cc0 1.0 universal": "CC0-1.0",
}


@lru_cache(maxsize=1)
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def spdx_identifier(name: str) -> str | None:
    """The SPDX expression a license name clearly denotes, else None.

    SPDX ids and their aliases ("mit", "GPL-3.0+", "MIT OR Apache-2.0") come
    from license-expression's SPDX list; a few common long names from the
    table above. Anything else is not a clear match.
    """
    text = " ".join(name.split())
    if not text:
        return None
    if text.lower() in _LICENSE_NAMES:
        return _LICENSE_NAMES[text.lower()]
    try:
        expression = _licensing().parse(text, validate=True, strict=True)
    except Exception:  # license-expression raises several error types for unknown text
        return None
    if expression is None:
        return None
    rendered = expression.render()
    # ScanCode's own keys are not SPDX identifiers.
    return None if "LicenseRef-" in rendered else rendered
