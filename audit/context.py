"""Who and why: the actor, correlation id and remote address of the current work.

Everything one request, one command run or one thread changes, in either
store, carries the same correlation id. The context lives in a ``ContextVar``,
so it follows the code through ``transaction.on_commit`` callbacks and async
views; threads do not inherit context variables, so start them with
:func:`audit_thread` (or wrap the target with :func:`with_current_context`).

Outside any context (a shell, a script), a process started as
``manage.py <command>`` gets that command as its actor and one correlation id
for the whole run; anything else is the ``system`` actor with a fresh id per
write batch.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ContextDecorator, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.management.base import BaseCommand

SYSTEM_ACTOR = "system"


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@dataclass
class AuditContext:
    """The actor and correlation of the writes being made.

    ``user_loader`` defers resolving ``request.user`` (one query) until
    something is actually written: most requests write nothing.
    """

    actor: str = SYSTEM_ACTOR
    actor_id: int | None = None
    correlation_id: str = field(default_factory=new_correlation_id)
    remote_addr: str | None = None
    enabled: bool = True
    note: str = ""
    user_loader: Callable[[], Any] | None = field(default=None, repr=False)
    # An explicit context keeps its correlation id; the ambient default does not.
    ambient: bool = False

    def resolve(self) -> AuditContext:
        """Resolve a lazily given user into actor and actor_id (once)."""
        if self.user_loader is not None:
            loader, self.user_loader = self.user_loader, None
            user = loader()
            if user is not None and getattr(user, "is_authenticated", False):
                self.actor = user.get_username()
                self.actor_id = user.pk
            else:
                self.actor = "anonymous"
        return self


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "audit_context", default=None
)


def _command_from_argv() -> str | None:
    """``manage.py import_pypi ...`` -> ``import_pypi`` (the whole run is one unit)."""
    argv = sys.argv
    if len(argv) >= 2 and argv[0].endswith(("manage.py", "django-admin")):
        command = argv[1]
        if command and not command.startswith("-"):
            return command
    return None


_PROCESS_COMMAND = _command_from_argv()
_PROCESS_CORRELATION = new_correlation_id()


def get_context() -> AuditContext:
    """The context for a write being recorded now."""
    ctx = _current.get()
    if ctx is not None:
        return ctx.resolve()
    if _PROCESS_COMMAND:
        return AuditContext(
            actor=f"command:{_PROCESS_COMMAND}", correlation_id=_PROCESS_CORRELATION
        )
    return AuditContext(ambient=True)


@contextmanager
def one_operation() -> Iterator[None]:
    """Writes in this block share one correlation id, even with no explicit context.

    Outside a request or command every write gets its own id; a delete that
    cascades (a package with its releases and files) is one operation, and a
    restore finds what it took with it by that id.
    """
    if _current.get() is not None:
        yield
        return
    token = _current.set(replace(get_context(), ambient=False))
    try:
        yield
    finally:
        _current.reset(token)


def _setting_enabled() -> bool:
    from django.conf import settings

    return getattr(settings, "AUDIT_ENABLED", True)


def is_enabled() -> bool:
    ctx = _current.get()
    return ctx.enabled if ctx is not None else _setting_enabled()


class audit_context(ContextDecorator):  # noqa: N801 - used like contextlib helpers
    """Set the actor (a user or a command name) and correlation id for a block.

    Usable as ``with audit_context(command="seed_catalog"):`` or as a
    decorator on ``handle()``. Nested contexts inherit the outer correlation
    id unless one is given, so a command calling services stays one unit.
    """

    def __init__(
        self,
        *,
        user: Any = None,
        command: str | None = None,
        actor: str | None = None,
        correlation_id: str | None = None,
        remote_addr: str | None = None,
        note: str = "",
    ) -> None:
        self.user = user
        self.command = command
        self.actor = actor
        self.correlation_id = correlation_id
        self.remote_addr = remote_addr
        self.note = note
        self._tokens: list[contextvars.Token] = []

    def _build(self) -> AuditContext:
        outer = _current.get()
        ctx = replace(outer) if outer is not None else AuditContext()
        ctx.enabled = _setting_enabled() if outer is None else outer.enabled
        if self.user is not None:
            ctx.actor, ctx.actor_id = self.user.get_username(), self.user.pk
            ctx.user_loader = None
        elif self.command:
            ctx.actor, ctx.actor_id = f"command:{self.command}", None
        elif self.actor:
            ctx.actor, ctx.actor_id = self.actor, None
        if self.correlation_id:
            ctx.correlation_id = self.correlation_id
        elif outer is None:
            ctx.correlation_id = new_correlation_id()
        if self.remote_addr is not None:
            ctx.remote_addr = self.remote_addr
        if self.note:
            ctx.note = self.note
        return ctx

    def __enter__(self) -> AuditContext:
        ctx = self._build()
        self._tokens.append(_current.set(ctx))
        return ctx

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())


@contextmanager
def request_context(
    *, user_loader: Callable[[], Any], remote_addr: str | None, correlation_id: str
) -> Iterator[AuditContext]:
    ctx = AuditContext(
        actor="anonymous",
        correlation_id=correlation_id,
        remote_addr=remote_addr,
        user_loader=user_loader,
        enabled=_setting_enabled(),
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def audit_disabled() -> Iterator[None]:
    """Write without recording (benchmarks' baseline, bulk repairs by an operator)."""
    outer = _current.get()
    ctx = replace(outer) if outer is not None else AuditContext()
    ctx.enabled = False
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)


def with_current_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Bind ``func`` to a copy of the caller's context (for threads and executors)."""
    captured = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        return captured.run(func, *args, **kwargs)

    return run


def audit_context_snapshot() -> dict[str, Any]:
    """The current context as plain values, for a worker in another process.

    Threads can share a ``contextvars`` copy; a process cannot, and one started
    with ``spawn`` would otherwise fall back to its own command actor and
    correlation id (and record even inside ``audit_disabled()``).
    """
    ctx = get_context()
    return {
        "actor": ctx.actor,
        "actor_id": ctx.actor_id,
        "correlation_id": ctx.correlation_id,
        "remote_addr": ctx.remote_addr,
        "enabled": is_enabled(),
        "note": ctx.note,
    }


@contextmanager
def audit_context_restored(snapshot: dict[str, Any]) -> Iterator[AuditContext]:
    """Run a block (in a worker process) under a context taken by :func:`audit_context_snapshot`."""
    ctx = AuditContext(**snapshot)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def audit_thread(target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """A thread that records its writes with the starting code's actor and correlation id."""
    return threading.Thread(target=with_current_context(target), args=args, kwargs=kwargs)


class AuditedCommand(BaseCommand):
    """A management command whose run is one audit unit, however it is started.

    ``manage.py <command>`` is recognised from the process arguments; this
    covers ``call_command()`` too (a scheduler, another command, a test), so
    entries still say ``command:<name>`` and share one correlation id. Code
    that already set a context (a request, an outer command) keeps it.
    """

    def execute(self, *args: Any, **options: Any) -> Any:
        if _current.get() is not None:
            return super().execute(*args, **options)
        name = type(self).__module__.rsplit(".", 1)[-1]
        correlation = _PROCESS_CORRELATION if name == _PROCESS_COMMAND else None
        with audit_context(command=name, correlation_id=correlation):
            return super().execute(*args, **options)
