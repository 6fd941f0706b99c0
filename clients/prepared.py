"""Lookups whose SQL is compiled once per process instead of on every request.

Django turns a queryset into SQL each time it is evaluated; for the key pair lookup with its
application, which every token, introspection and revocation request makes, that compilation
cost more than running the query. A ``PreparedLookup`` compiles ``filter(<field>=...)`` once per
database and then only executes it, building the objects as Django's own ``ModelIterable`` does.
"""

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class PreparedLookup(Generic[M]):
    """``model.objects.select_related(*related).filter(field=value).first()``, compiled once."""

    def __init__(self, model: type[M], field: str, *, select_related: Sequence[str] = ()) -> None:
        self._model = model
        self._field = field
        self._select_related = tuple(select_related)
        self._compiled: dict[str, tuple[Any, ...]] = {}

    def get(self, value: Any) -> M | None:
        """The one object whose field equals value, with its related objects, or None."""
        db = router.db_for_read(self._model)
        sql, compiler, init_list, start, end, populators = self._compiled.get(db) or self._compile(db)
        with connections[db].cursor() as cursor:
            cursor.execute(sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        row = next(iter(compiler.results_iter(results=[[row]])))
        obj = self._model.from_db(db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        return obj

    def _compile(self, db: str) -> tuple[Any, ...]:
        queryset = self._model._default_manager.using(db).select_related(*self._select_related)
        compiler = queryset.filter(**{self._field: ""}).query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        if list(params) != [""]:
            raise ValueError(f"cannot prepare a lookup by {self._field}: parameters {params!r}")
        select_fields = compiler.klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        init_list = [column[0].target.attname for column in compiler.select[start:end]]
        populators = get_related_populators(compiler.klass_info, compiler.select, db)
        self._compiled[db] = compiled = (sql, compiler, init_list, start, end, populators)
        return compiled
