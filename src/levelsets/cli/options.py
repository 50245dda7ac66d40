"""CLI options built from a settings dataclass: each option of a job is declared once, as a field.

A job's settings are a dataclass (e.g. :class:`levelsets.workflows.sample.SampleJob`); each field is one
option. The option's name, type and default are the field's; its help is the field's *attribute
docstring* (the string literal right below the field, which mkdocstrings also shows in the API
reference); extra click declarations (short flags such as ``-N``) go in the field's metadata::

    @dataclass
    class Job:
        particles: int = field(default=1000, metadata={"flags": ("-N",)})
        \"\"\"Particles N advanced in parallel.\"\"\"

The command function then takes the job's options as ``**job`` and :func:`job_options` builds its
signature (which Typer reads) from the fields::

    @job_options(Job, exclude=("progress",))
    def run(*, quiet: bool = typer.Option(False, "--quiet"), **job: Any) -> None:
        Job(**job, progress=not quiet)

A field without a default is a required option. Field metadata understood here: ``flags`` (extra
option names, e.g. ``("-N",)``), ``option`` (the long name, when it is not ``--field-name``: a
list field ``targets`` given as a repeatable ``--target``), ``type`` (the type Typer parses, when
the field's own is not one Typer knows, e.g. ``list[str]`` for a ``tuple[str, ...] | None``
field), ``argument`` (``True``: a positional argument, not an option), ``metavar``, ``envvar``,
``cli`` (``False``: not an option, e.g. a Python-only field) and ``help`` (the help, instead of a
docstring: the fields every job shares, :mod:`levelsets.job_fields`, carry theirs this way).

Why not a dataclass-to-CLI library (tyro, simple-parsing, jsonargparse): the application is
Typer/click, and one small adapter keeps every command on it; the adapter only turns fields into
``typer.Option`` declarations, Typer does all the parsing.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import typer

__all__ = ["attribute_docs", "field_help", "field_options", "job_options", "option_name"]


@functools.cache
def attribute_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a class: ``{field name: the string literal right below it}``.

    Read once per class from its source (``ast``); the text is dedented and its lines joined by
    single spaces (help is rewrapped by click anyway). Fields without a docstring are absent.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's docstring wins over its base's
        if klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # no source (built-in, or compiled only): no docs
            continue
        body = ast.parse(source).body[0].body
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def field_help(cls: type, f: dataclasses.Field) -> str | None:
    """The help of field ``f`` of ``cls``: its ``help`` metadata, else its attribute docstring."""
    return f.metadata.get("help") or attribute_docs(cls).get(f.name)


def option_name(name: str) -> str:
    """The long option of a field: ``burn_in`` → ``--burn-in``."""
    return "--" + name.replace("_", "-")


def field_options(
    cls: type,
    *,
    exclude: Iterable[str] = (),
    help: Mapping[str, str] | None = None,  # noqa: A002 - the word Typer uses
) -> list[inspect.Parameter]:
    """One keyword parameter per field of the dataclass ``cls``, its default a ``typer.Option``.

    Parameters
    ----------
    cls:
        A dataclass whose fields are a job's settings.
    exclude:
        Field names that are not options of this command (besides those marked ``cli=False``).
    help:
        ``{field name: help}`` replacing the docstring for this command only (e.g. where a sweep
        gives ``overwrite`` another meaning).

    Returns
    -------
    list of inspect.Parameter
        In field order; each annotated with the field's resolved type, its default
        ``typer.Option(field default, --long-name, *metadata flags, help=...)`` (``...``, i.e.
        required, for a field without a default; ``typer.Argument`` for an ``argument`` field).
        (``option`` and ``type`` in a field's metadata replace the long name and the type.)

    Raises
    ------
    TypeError
        When ``cls`` is not a dataclass, a field has no help, or ``exclude`` / ``help`` name a
        field ``cls`` does not have.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    skip = set(exclude)
    unknown = (skip | set(help or {})) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"{sorted(unknown)} are not fields of {cls.__name__}")
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init or not f.metadata.get("cli", True):
            continue
        text = (help or {}).get(f.name) or field_help(cls, f)
        if not text:
            raise TypeError(f"{cls.__name__}.{f.name} has no help: give it an attribute docstring")
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ...  # required
        extra = {k: f.metadata[k] for k in ("metavar", "envvar") if k in f.metadata}
        if f.metadata.get("argument"):
            option = typer.Argument(default, help=text, **extra)
        else:
            names = (f.metadata.get("option", option_name(f.name)), *f.metadata.get("flags", ()))
            option = typer.Option(default, *names, help=text, **extra)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=f.metadata.get("type", hints[f.name])))
    return params


def job_options(
    cls: type,
    *,
    exclude: Iterable[str] = (),
    help: Mapping[str, str] | None = None,  # noqa: A002
    before: Iterable[inspect.Parameter] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the command's ``**job`` becomes one option per field of ``cls``.

    The built signature is the function's positional-or-keyword parameters (e.g. a
    ``typer.Context`` and the command's own options), then ``before`` (e.g. another dataclass's
    :func:`field_options`), then the fields of ``cls`` (:func:`field_options`), then the
    function's keyword-only parameters (presentation options such as ``--json``), so ``--help``
    lists them in that order. Typer calls the function with keywords; the values of ``before``
    and of the fields arrive in ``**job``, by name.
    """
    extra = list(before)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(func).parameters.values()
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own):
            raise TypeError(f"{func.__name__} must take the job's options as **kwargs")
        hints = typing.get_type_hints(func, include_extras=True)  # keep Annotated[..., typer.Option(...)]
        resolved = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in own]
        own_first = [p for p in resolved if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        after = [p for p in resolved if p.kind is inspect.Parameter.KEYWORD_ONLY]
        fields = [*extra, *field_options(cls, exclude=exclude, help=help)]
        names = [p.name for p in (*own_first, *fields, *after)]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise TypeError(f"{func.__name__}: {clash} declared twice (fields of {cls.__name__} or given in before=)")
        # Keyword-only throughout: a valid signature whatever the defaults (Typer passes keywords).
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in (*own_first, *fields, *after)]
        func.__signature__ = inspect.Signature(params, return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]
        func.__annotations__ = {p.name: p.annotation for p in params}
        return func

    return decorate
