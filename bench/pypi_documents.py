"""Write a directory of PyPI JSON API documents for timing ``import_pypi``.

    uv run python bench/pypi_documents.py DIR [--packages 100] [--seed 1]

Deterministic: the same seed writes the same documents. Packages have 1 to
about 300 releases (about 95 on average), one or two files each, with the
fields PyPI serves (current documents: upload_time_iso_8601, yanked,
requires_python per release and per file, requires_dist, license_expression).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _file(rng: random.Random, name: str, version: str, kind: str, when: datetime) -> dict:
    stem = f"{name.replace('-', '_')}-{version}"
    filename = f"{stem}.tar.gz" if kind == "sdist" else f"{stem}-py3-none-any.whl"
    digest = hashlib.sha256(filename.encode()).hexdigest()
    return {
        "comment_text": "",
        "digests": {
            "blake2b_256": hashlib.blake2b(filename.encode(), digest_size=32).hexdigest(),
            "md5": hashlib.md5(filename.encode(), usedforsecurity=False).hexdigest(),
            "sha256": digest,
        },
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": hashlib.md5(filename.encode(), usedforsecurity=False).hexdigest(),
        "packagetype": kind,
        "python_version": "source" if kind == "sdist" else "py3",
        "requires_python": ">=3.8",
        "size": rng.randint(1_000, 5_000_000),
        "upload_time": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": f"https://files.example.org/packages/{digest[:2]}/{filename}",
        "yanked": False,
        "yanked_reason": None,
    }


def document(rng: random.Random, index: int) -> dict:
    name = f"bench-package-{index}"
    count = min(300, max(1, int(rng.expovariate(1 / 95))))
    when = datetime(2015, 1, 1, tzinfo=UTC)
    releases = {}
    for n in range(count):
        version = f"{n // 20}.{n % 20}.0"
        when += timedelta(hours=rng.randint(1, 400))
        kinds = ["sdist", "bdist_wheel"] if rng.random() < 0.85 else ["sdist"]
        releases[version] = [_file(rng, name, version, k, when) for k in kinds]
    latest = list(releases)[-1]
    return {
        "info": {
            "author": "Ada Lovelace",
            "author_email": "Ada@Example.org",
            "bugtrack_url": None,
            "classifiers": [
                "Programming Language :: Python :: 3",
                "License :: OSI Approved :: MIT License",
            ],
            "description": f"# {name}\n\nA package for the import benchmark.",
            "description_content_type": "text/markdown",
            "docs_url": None,
            "download_url": "",
            "dynamic": None,
            "home_page": f"https://example.org/{name}",
            "keywords": "bench",
            "license": None,
            "license_expression": "MIT",
            "license_files": ["LICENSE"],
            "maintainer": "",
            "maintainer_email": "",
            "name": name,
            "package_url": f"https://pypi.org/project/{name}/",
            "platform": None,
            "project_url": f"https://pypi.org/project/{name}/",
            "project_urls": {"Source": f"https://example.org/{name}/src"},
            "provides_extra": ["test"],
            "release_url": f"https://pypi.org/project/{name}/{latest}/",
            "requires_dist": ["requests>=2", "pytest; extra == 'test'"],
            "requires_python": ">=3.8",
            "summary": f"Benchmark package {index}",
            "version": latest,
            "yanked": False,
            "yanked_reason": None,
        },
        "last_serial": 1000 + index,
        "releases": releases,
        "urls": releases[latest],
        "vulnerabilities": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.directory.mkdir(parents=True, exist_ok=True)
    releases = files = 0
    for index in range(args.packages):
        doc = document(rng, index)
        releases += len(doc["releases"])
        files += sum(len(f) for f in doc["releases"].values())
        (args.directory / f"{doc['info']['name']}.json").write_text(json.dumps(doc))
    print(f"wrote {args.packages} documents, {releases} releases, {files} files")


if __name__ == "__main__":
    main()
