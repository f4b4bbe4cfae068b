"""What the seeders' synthetic catalog is made of: words, people, licenses, classifiers,
description templates, the date range, and the shapes of names and version histories.

Shared by ``seed`` (the synthetic catalog) and ``seed_pypi`` (PyPI's shape);
everything here is data or a pure function of a ``random.Random``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from catalog.versions import canonicalize_name

LICENSES = [
    ("MIT License", "MIT", "License :: OSI Approved :: MIT License"),
    ("BSD License", "BSD-3-Clause", "License :: OSI Approved :: BSD License"),
    ("Apache Software License", "Apache-2.0", "License :: OSI Approved :: Apache Software License"),
    (
        "GNU General Public License v3 (GPLv3)",
        "GPL-3.0-only",
        "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
    ),
    (
        "GNU Lesser General Public License v3 (LGPLv3)",
        "LGPL-3.0-only",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
    ),
    (
        "Mozilla Public License 2.0 (MPL 2.0)",
        "MPL-2.0",
        "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)",
    ),
    ("ISC License (ISCL)", "ISC", "License :: OSI Approved :: ISC License (ISCL)"),
    (
        "Python Software Foundation License",
        "PSF-2.0",
        "License :: OSI Approved :: Python Software Foundation License",
    ),
    (
        "The Unlicense (Unlicense)",
        "Unlicense",
        "License :: OSI Approved :: The Unlicense (Unlicense)",
    ),
    ("Proprietary", "", "License :: Other/Proprietary License"),
]
LICENSE_WEIGHTS = [40, 18, 20, 6, 3, 3, 3, 2, 2, 3]

STATUS = [
    "Development Status :: 3 - Alpha",
    "Development Status :: 4 - Beta",
    "Development Status :: 5 - Production/Stable",
    "Development Status :: 6 - Mature",
]
PYTHONS = [f"Programming Language :: Python :: 3.{minor}" for minor in range(6, 14)]
TOPICS = [
    "Topic :: Software Development :: Libraries :: Python Modules",
    "Topic :: Internet :: WWW/HTTP",
    "Topic :: Internet :: WWW/HTTP :: Dynamic Content",
    "Topic :: Scientific/Engineering",
    "Topic :: Scientific/Engineering :: Artificial Intelligence",
    "Topic :: Database",
    "Topic :: System :: Networking",
    "Topic :: Software Development :: Testing",
    "Topic :: Text Processing :: Markup",
    "Topic :: Utilities",
]
FRAMEWORKS = [
    "Framework :: Django",
    "Framework :: Django :: 5.2",
    "Framework :: Flask",
    "Framework :: Pytest",
    "Framework :: AsyncIO",
]
AUDIENCES = [
    "Intended Audience :: Developers",
    "Intended Audience :: Science/Research",
    "Intended Audience :: System Administrators",
]
OTHER = [
    "Operating System :: OS Independent",
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3 :: Only",
    "Programming Language :: Python :: Implementation :: CPython",
    "Programming Language :: Python :: Implementation :: PyPy",
    "Typing :: Typed",
]

WORDS_A = [
    "fast",
    "py",
    "simple",
    "async",
    "django",
    "flask",
    "data",
    "micro",
    "open",
    "deep",
    "tiny",
    "smart",
    "hyper",
    "easy",
    "secure",
    "cloud",
    "geo",
    "text",
    "net",
    "super",
]
WORDS_B = [
    "json",
    "http",
    "cache",
    "auth",
    "parser",
    "config",
    "queue",
    "stats",
    "image",
    "crypto",
    "sql",
    "mongo",
    "graph",
    "yaml",
    "xml",
    "log",
    "test",
    "cli",
    "retry",
    "schema",
    "time",
    "units",
    "mail",
    "search",
]
WORDS_C = ["", "", "", "tools", "utils", "kit", "lib", "core", "client", "server", "plus", "extras"]
FIRST = [
    "Ada",
    "Grace",
    "Linus",
    "Guido",
    "Barbara",
    "Ken",
    "Dennis",
    "Margaret",
    "Alan",
    "Katherine",
    "Tim",
    "Brett",
    "Carol",
    "Raymond",
    "Yuki",
    "Amara",
    "Chen",
    "Priya",
    "Olu",
    "Sofia",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Rossum",
    "Liskov",
    "Thompson",
    "Ritchie",
    "Hamilton",
    "Turing",
    "Johnson",
    "Peters",
    "Cannon",
    "Willing",
    "Hettinger",
    "Tanaka",
    "Okafor",
    "Wei",
    "Patel",
    "Adeyemi",
    "Rossi",
]

LEGACY_SCHEMES = [
    lambda rng, i: f"{2001 + i // 4}{'abcd'[i % 4]}",
    lambda rng, i: f"0.{i}-SNAPSHOT",
    lambda rng, i: f"r{100 + i * 7}",
    lambda rng, i: f"0.{i}.x-dev-build",
]

DESCRIPTION_MD = """# {display}

{summary}.

## Installation

```console
$ pip install {name}
```

## Usage

```python
import {module}

client = {module}.Client(timeout=30)
print(client.{verb}("example"))
```

## Features

- {feature1}
- {feature2}
- Works on Python {python} and newer

See the [documentation]({docs}) for details.
"""

DESCRIPTION_RST = """{display}
{underline}

{summary}.

Installation
------------

.. code-block:: console

    $ pip install {name}

Usage
-----

.. code-block:: python

    import {module}
    {module}.{verb}("example")

* {feature1}
* {feature2}

Documentation: `{docs} <{docs}>`_
"""

FEATURES = [
    "zero dependencies",
    "type hints throughout",
    "streaming API",
    "thread safe",
    "pluggable backends",
    "100% test coverage",
    "async support",
    "small memory footprint",
]
VERBS = ["fetch", "parse", "load", "render", "check", "encode", "run"]

BASE_DATE = datetime(2008, 1, 1, tzinfo=UTC)
END_DATE = datetime(2026, 6, 1, tzinfo=UTC)


def version_history(rng: random.Random, count: int, legacy: bool) -> list[str]:
    """A plausible release history of ``count`` distinct versions, oldest first."""
    versions: list[str] = []
    if legacy:
        scheme = rng.choice(LEGACY_SCHEMES)
        for i in range(min(count, rng.randint(1, 6))):
            versions.append(scheme(rng, i))
    major, minor, patch = (0, 1, 0) if rng.random() < 0.6 else (1, 0, 0)
    first = True
    while len(versions) < count:
        step = rng.random()
        if first:
            first = False
        elif step < 0.7:
            patch += 1
        elif step < 0.95:
            minor, patch = minor + 1, 0
        else:
            major, minor, patch = major + 1, 0, 0
        base = f"{major}.{minor}.{patch}" if patch or rng.random() < 0.7 else f"{major}.{minor}"
        if patch == 0 and rng.random() < 0.35:
            pre = []
            if rng.random() < 0.2:
                pre.append(f"{base}.dev0")
            pre += [f"{base}a1", f"{base}b1"] if rng.random() < 0.5 else [f"{base}a1"]
            pre.append(f"{base}rc1")
            versions.extend(pre)
        versions.append(base)
        if rng.random() < 0.05:
            versions.append(f"{base}.post1")
    return versions[:count]


def unique_name(rng: random.Random, names: set[str], index: int) -> str:
    for attempt in range(10):
        parts = [rng.choice(WORDS_A), rng.choice(WORDS_B), rng.choice(WORDS_C)]
        display = "-".join(p for p in parts if p)
        style = rng.random()
        if style < 0.15:
            display = display.replace("-", "_")
        elif style < 0.25:
            display = "".join(p.capitalize() for p in display.split("-"))
        elif style < 0.3:
            display = display.replace("-", ".", 1)
        if attempt > 3:
            display = f"{display}{index}"
        if canonicalize_name(display) not in names:
            names.add(canonicalize_name(display))
            return display
    display = f"package-{index}"
    names.add(display)
    return display
