import ctypes
import ctypes.util
import os

from django.core.wsgi import get_wsgi_application

# glibc's mallopt parameters.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def large_buffers_on_the_heap(*, mmap_mb: int = 16, trim_mb: int = 64) -> bool:
    """Let glibc keep buffers of up to ``mmap_mb`` MB on the heap, and ``trim_mb`` MB free.

    A large package's JSON API answer is a megabyte or more, built and copied a
    few times per request. By default glibc gives each such buffer pages of its
    own (mmap) and hands them back on free, so every request paid a page fault
    per 4 KB of each copy: half the cold JSON API's time under gunicorn
    (bench/pages.py). Kept on the heap, the same memory serves the next request.
    Returns False where the C library is not glibc (nothing is changed).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(
        mallopt(M_MMAP_THRESHOLD, mmap_mb * 1024 * 1024)
        and mallopt(M_TRIM_THRESHOLD, trim_mb * 1024 * 1024)
    )


large_buffers_on_the_heap()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()
