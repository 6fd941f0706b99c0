"""Queries whose SQL is compiled once per process instead of on every request.

Django turns a queryset into SQL each time it is evaluated; for the key pair lookup that every
token, introspection and revocation request makes, that compilation cost more than running the
query (and several times more for introspection's lookup with the token's record as a subquery).
A ``PreparedQuery`` builds its queryset once with placeholder values, compiles it once per
database, and then only executes it with the real values, building the objects as Django's own
``ModelIterable`` does (related objects from ``select_related``, annotations as attributes).
"""

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class PreparedQuery(Generic[M]):
    """``build(*values).first()`` for a queryset that filters on plain values, compiled once.

    build must use each value only as a whole parameter (``field=value``, not ``__contains``).
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]]) -> None:
        self._model = model
        self._build = build
        self._compiled: dict[str, tuple[Any, ...]] = {}

    def first(self, *values: Any) -> M | None:
        """The first row for these values, with its related objects and annotations, or None."""
        db = router.db_for_read(self._model)
        sql, positions, constants, compiler, init_list, start, end, populators, annotations = (
            self._compiled.get(db) or self._compile(db, len(values))
        )
        params = [values[position] if position is not None else constant for position, constant in zip(positions, constants)]
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = next(iter(compiler.results_iter(results=[[row]])))
        obj = self._model.from_db(db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        return obj

    def _compile(self, db: str, arity: int) -> tuple[Any, ...]:
        placeholders = [f"\x00placeholder {index}\x00" for index in range(arity)]
        compiler = self._build(*placeholders)[:1].query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        positions = [placeholders.index(p) if p in placeholders else None for p in params]
        if sorted(p for p in positions if p is not None) != list(range(arity)):
            raise ValueError("each value must appear once, as a whole query parameter")
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in compiler.select[start:end]]
        populators = get_related_populators(klass_info, compiler.select, db)
        compiled = (sql, positions, list(params), compiler, init_list, start, end, populators, compiler.annotation_col_map)
        self._compiled[db] = compiled
        return compiled
