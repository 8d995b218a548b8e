"""What users' code sees of the SQLAlchemy adapter: it satisfies the protocols the fake does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, assert_type

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tactical import Aggregate, Event, Repository, UnitOfWork
from tactical.sqlalchemy import (
    SqlAlchemyRepository,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_session_factory,
)


class Product(Aggregate, key="sku"):
    def __init__(self, sku: str) -> None:
        self.sku = sku


class ShopUnitOfWork(UnitOfWork, Protocol):
    @property
    def products(self) -> Repository[Product, str]: ...


class SqlShop(SqlAlchemyUnitOfWork):
    @property
    def products(self) -> SqlAlchemyRepository[Product, str]:
        return self.repository(Product)


def the_adapter_satisfies_the_protocols(sessions: sessionmaker[Session]) -> None:
    uow: ShopUnitOfWork = SqlShop(sessions)
    repository: Repository[Product, str] = SqlShop(sessions).products
    factory: Callable[[], UnitOfWork] = lambda: SqlShop(sessions)  # noqa: E731
    del uow, repository, factory


def what_the_adapter_returns(sessions: sessionmaker[Session]) -> None:
    with SqlShop(sessions) as uow:
        assert_type(uow, SqlShop)
        assert_type(uow.session, Session)
        assert_type(uow.products.get("LAMP"), Product | None)
        assert_type(uow.products.get("LAMP", for_update=True), Product | None)
        assert_type(uow.products.find(), Product | None)
        assert_type(uow.repository(Product), SqlAlchemyRepository[Product, Any])
        uow.products.get(42)  # type: ignore[arg-type]
        uow.commit()
    assert_type(uow.collect_new_events(), Sequence[Event])


def the_helpers() -> None:
    engine = create_engine("sqlite:///shop.db", busy_timeout=1.0)
    assert_type(engine, Engine)
    assert_type(create_session_factory(engine), sessionmaker[Session])
