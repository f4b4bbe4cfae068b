"""Builders for PyPI JSON API documents used by the importer tests."""

from __future__ import annotations

import copy
import hashlib
from typing import Any


def pypi_file(name: str, version: str, kind: str = "sdist", **overrides: Any) -> dict[str, Any]:
    module = name.replace("-", "_")
    filename = (
        f"{module}-{version}.tar.gz" if kind == "sdist" else f"{module}-{version}-py3-none-any.whl"
    )
    digest = hashlib.sha256(filename.encode()).hexdigest()
    data = {
        "filename": filename,
        "url": f"https://files.example.org/{filename}",
        "size": 1234,
        "packagetype": kind,
        "python_version": "source" if kind == "sdist" else "py3",
        "requires_python": ">=3.9",
        "digests": {"sha256": digest, "md5": digest[:32]},
        "upload_time_iso_8601": "2024-01-02T03:04:05.000000Z",
        "yanked": False,
        "yanked_reason": None,
    }
    data.update(overrides)
    return data


def pypi_document(
    name: str = "Demo_Pkg",
    versions: tuple[str, ...] = ("1.0", "1.1"),
    serial: int = 10,
    **info: Any,
) -> dict[str, Any]:
    canonical = name.lower().replace("_", "-").replace(".", "-")
    releases = {
        v: [pypi_file(canonical, v), pypi_file(canonical, v, "bdist_wheel")] for v in versions
    }
    document = {
        "info": {
            "name": name,
            "version": versions[-1],
            "summary": "A demo package",
            "description": "# Demo\n\nHello.",
            "description_content_type": "text/markdown",
            "author": "Ada Lovelace",
            "author_email": "ada@example.org",
            "license": "MIT",
            "home_page": "https://example.org/demo",
            "project_urls": {"Source": "https://example.org/demo/src"},
            "classifiers": [
                "Programming Language :: Python :: 3",
                "License :: OSI Approved :: MIT License",
            ],
            "yanked": False,
            "yanked_reason": None,
            **info,
        },
        "last_serial": serial,
        "releases": releases,
        "urls": copy.deepcopy(releases[versions[-1]]) if versions else [],
    }
    return document
