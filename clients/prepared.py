"""Queries whose SQL is compiled once per process instead of on every request.

Django turns a queryset into SQL each time it is evaluated; for the key pair lookup that every
token, introspection and revocation request makes, that compilation cost more than running the
query (and several times more for introspection's lookup with the token's record as a subquery).
A ``PreparedQuery`` builds its queryset once with placeholder values, compiles it once per
database, and then only executes it with the real values, building the objects as Django's own
``ModelIterable`` does (related objects from ``select_related``, annotations as attributes).
A ``PreparedInsert`` does the same for the one row every token request writes: ``create()``
cost four times the INSERT it runs.
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
        sql, positions, constants, converters, init_list, start, end, populators, annotations = (
            self._compiled.get(db) or self._compile(db, len(values))
        )
        params = [values[position] if position is not None else constant for position, constant in zip(positions, constants)]
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:  # what the compiler's results_iter does, with the converters looked up once
            row = list(row)
            for position, (functions, expression) in converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
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
        converters = list(compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]]).items())
        compiled = (sql, positions, list(params), converters, init_list, start, end, populators, compiler.annotation_col_map)
        self._compiled[db] = compiled
        return compiled


class PreparedInsert(Generic[M]):
    """``model.objects.create(**values)`` as one INSERT compiled once, for append-only rows.

    Values are prepared for the database by their fields, as ``save()`` does; but no model
    instance is built, no signal is sent and the new primary key is not read back.
    """

    def __init__(self, model: type[M], field_names: list[str]) -> None:
        self._model = model
        self._fields = [model._meta.get_field(name) for name in field_names]
        self._sql: dict[str, str] = {}

    def insert(self, **values: Any) -> None:
        """Insert one row; every field named at construction must be given (by attname)."""
        db = router.db_for_write(self._model)
        connection = connections[db]
        sql = self._sql.get(db) or self._compile(db)
        params = [field.get_db_prep_save(values[field.attname], connection) for field in self._fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def _compile(self, db: str) -> str:
        quote = connections[db].ops.quote_name
        columns = ", ".join(quote(field.column) for field in self._fields)
        placeholders = ", ".join(["%s"] * len(self._fields))
        self._sql[db] = sql = f"INSERT INTO {quote(self._model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        return sql
