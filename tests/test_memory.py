"""What the in-memory fakes promise beyond the generic repository and unit-of-work contracts.

The contract suites in `tactical.testing` hold the fakes to what every adapter does. These
tests cover what belongs to the fakes: the store's own API, the identity map, how a unit of
work is opened (and not nested), keys for classes that are not entities, when events are
harvested, and how versions are numbered.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tactical import (
    Aggregate,
    ConcurrencyError,
    Entity,
    Event,
    InMemoryRepository,
    InMemoryStore,
    InMemoryUnitOfWork,
    TransactionError,
)


@dataclass(frozen=True)
class Restocked(Event):
    sku: str
    qty: int


@dataclass(frozen=True)
class Looked(Event):
    sku: str


class Part(Entity, key="code"):
    def __init__(self, code: str, qty: int) -> None:
        self.code = code
        self.qty = qty


class Product(Aggregate, key="sku"):
    def __init__(self, sku: str, qty: int = 0, parts: list[Part] | None = None) -> None:
        self.sku = sku
        self.qty = qty
        self.parts = parts or []

    def restock(self, qty: int) -> None:
        self.qty += qty
        self.events.append(Restocked(self.sku, qty))

    def look(self) -> None:
        """Record an event without changing any state."""
        self.events.append(Looked(self.sku))


class Note:
    """A plain class, not an entity: its repository needs ``key=``."""

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        self.text = text


class FakeUnitOfWork(InMemoryUnitOfWork):
    @property
    def products(self) -> InMemoryRepository[Product, str]:
        return self.repository(Product)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def add(store: InMemoryStore, *products: Product) -> None:
    with FakeUnitOfWork(store) as uow:
        for product in products:
            uow.products.add(product)
        uow.commit()


def load(store: InMemoryStore, sku: str) -> Product:
    with FakeUnitOfWork(store) as uow:
        product = uow.products.get(sku)
    assert product is not None
    return product


class TestStore:
    def test_keys_lists_committed_aggregates_in_insertion_order(self, store: InMemoryStore) -> None:
        """`keys(cls)` returns the committed keys of one class, oldest first."""
        add(store, Product("B"), Product("A"))
        add(store, Product("C"))
        assert store.keys(Product) == ["B", "A", "C"]
        assert store.keys(Note) == []

    def test_version_of_is_none_for_an_unknown_aggregate(self, store: InMemoryStore) -> None:
        """`version_of` answers ``None`` when nothing with that key was committed."""
        assert store.version_of(Product, "NOPE") is None
        add(store, Product("A"))
        assert store.version_of(Product, "A") == 1
        assert store.version_of(Product, "NOPE") is None

    def test_uncommitted_work_never_reaches_the_store(self, store: InMemoryStore) -> None:
        """An aggregate added without `commit()` leaves no trace in the store."""
        with FakeUnitOfWork(store) as uow:
            uow.products.add(Product("A"))
        assert store.keys(Product) == []

    def test_units_of_work_on_one_store_share_committed_state(self, store: InMemoryStore) -> None:
        """Two units of work over the same store see each other's commits."""
        add(store, Product("A", qty=3))
        assert load(store, "A").qty == 3

    def test_separate_stores_are_separate_databases(self) -> None:
        """A unit of work without a store gets a fresh empty one of its own."""
        first, second = InMemoryUnitOfWork(), InMemoryUnitOfWork()
        assert first.store is not second.store
        with first:
            first.repository(Product).add(Product("A"))
            first.commit()
        assert first.store.keys(Product) == ["A"]
        assert second.store.keys(Product) == []

    def test_the_store_is_the_one_given(self, store: InMemoryStore) -> None:
        """`store` is the store the unit of work was built with."""
        assert InMemoryUnitOfWork(store).store is store

    def test_the_store_keeps_a_private_snapshot(self, store: InMemoryStore) -> None:
        """Changing an object after committing it does not change what others read."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A", qty=1, parts=[Part("p", 1)])
            uow.products.add(product)
            uow.commit()
            product.qty = 99
            product.parts[0].qty = 99
        loaded = load(store, "A")
        assert (loaded.qty, loaded.parts[0].qty) == (1, 1)


class TestIdentityMap:
    def test_get_returns_one_object_per_key_in_a_transaction(self, store: InMemoryStore) -> None:
        """Within one transaction, getting a key twice returns the very same object."""
        add(store, Product("A"))
        with FakeUnitOfWork(store) as uow:
            assert uow.products.get("A") is uow.products.get("A")

    def test_get_returns_what_this_transaction_added(self, store: InMemoryStore) -> None:
        """An aggregate added in the transaction is what `get` returns, before any commit."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A")
            uow.products.add(product)
            assert uow.products.get("A") is product

    def test_adding_the_same_object_twice_is_harmless(self, store: InMemoryStore) -> None:
        """Adding an object that the transaction already tracks changes nothing."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A")
            uow.products.add(product)
            uow.products.add(product)
            uow.commit()
        assert store.keys(Product) == ["A"]
        assert store.version_of(Product, "A") == 1

    def test_adding_another_object_with_a_tracked_key_conflicts(self, store: InMemoryStore) -> None:
        """A second object with a key the transaction already holds raises ConcurrencyError."""
        add(store, Product("A"))
        with FakeUnitOfWork(store) as uow:
            assert uow.products.get("A") is not None
            with pytest.raises(ConcurrencyError, match="'A' already exists") as caught:
                uow.products.add(Product("A"))
        assert (caught.value.aggregate_type, caught.value.key) == (Product, "A")

    def test_each_transaction_gets_its_own_copies(self, store: InMemoryStore) -> None:
        """Two open units of work, or two transactions in turn, never share an object."""
        add(store, Product("A"))
        first, second = FakeUnitOfWork(store), FakeUnitOfWork(store)
        with first, second:
            assert first.products.get("A") is not second.products.get("A")
        with first:
            earlier = first.products.get("A")
        with first:
            assert first.products.get("A") is not earlier

    def test_rollback_forgets_the_identity_map(self, store: InMemoryStore) -> None:
        """After `rollback()` inside the block, `get` loads a fresh copy of committed state."""
        add(store, Product("A", qty=1))
        with FakeUnitOfWork(store) as uow:
            product = uow.products.get("A")
            assert product is not None
            product.qty = 50
            uow.rollback()
            reloaded = uow.products.get("A")
            assert reloaded is not product
            assert reloaded is not None
            assert reloaded.qty == 1

    def test_after_commit_the_transaction_keeps_its_objects(self, store: InMemoryStore) -> None:
        """A commit does not end the transaction: the same objects stay in hand."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A")
            uow.products.add(product)
            uow.commit()
            assert uow.products.get("A") is product

    def test_iterating_yields_committed_then_added_as_this_transactions_copies(
        self, store: InMemoryStore
    ) -> None:
        """Iterating a repository answers queries: committed aggregates, then those added here."""
        add(store, Product("B", qty=1), Product("A", qty=2))
        with FakeUnitOfWork(store) as uow:
            loaded = uow.products.get("A")
            uow.products.add(Product("C", qty=3))
            products = list(uow.products)
            assert [p.sku for p in products] == ["B", "A", "C"]
            assert products[1] is loaded
            assert products[0] is uow.products.get("B")

    def test_iterating_shows_no_uncommitted_work_of_others(self, store: InMemoryStore) -> None:
        """What another open unit of work added or changed is invisible until it commits."""
        add(store, Product("A", qty=1))
        with FakeUnitOfWork(store) as other, FakeUnitOfWork(store) as uow:
            other.products.add(Product("B"))
            changed = other.products.get("A")
            assert changed is not None
            changed.qty = 99
            assert [(p.sku, p.qty) for p in uow.products] == [("A", 1)]

    def test_one_repository_per_class_per_transaction(self, store: InMemoryStore) -> None:
        """`repository(cls)` returns the same repository while the transaction is open."""
        with FakeUnitOfWork(store) as uow:
            assert uow.repository(Product) is uow.products


class TestOpening:
    @pytest.mark.parametrize("action", ["repository", "commit", "rollback"])
    def test_using_a_unit_of_work_outside_its_block_raises(self, action: str) -> None:
        """`repository()`, `commit()` and `rollback()` need an open `with` block."""
        uow = InMemoryUnitOfWork()
        use = {
            "repository": lambda: uow.repository(Product),
            "commit": uow.commit,
            "rollback": uow.rollback,
        }[action]
        with pytest.raises(TransactionError, match=rf"{action}\(\) called outside"):
            use()

    def test_a_closed_unit_of_work_refuses_again(self) -> None:
        """After the `with` block ends, the unit of work is closed again."""
        uow = InMemoryUnitOfWork()
        with uow:
            pass
        with pytest.raises(TransactionError):
            uow.repository(Product)

    def test_units_of_work_do_not_nest(self, store: InMemoryStore) -> None:
        """Entering an open unit of work raises, and the open transaction goes on unharmed."""
        with FakeUnitOfWork(store) as uow:
            uow.products.add(Product("A"))
            with pytest.raises(TransactionError, match="do not nest"), uow:
                pass
            uow.commit()
        assert store.keys(Product) == ["A"]

    def test_a_unit_of_work_opens_again_after_closing(self, store: InMemoryStore) -> None:
        """The same unit of work object runs one transaction after another."""
        uow = FakeUnitOfWork(store)
        for qty in (1, 2):
            with uow:
                uow.products.add(Product(f"P{qty}", qty))
                uow.commit()
        assert store.keys(Product) == ["P1", "P2"]

    def test_a_repository_kept_past_its_block_refuses_work(self, store: InMemoryStore) -> None:
        """A repository used after its unit of work's block ended raises, never reads stale data."""
        add(store, Product("A", 1))
        with FakeUnitOfWork(store) as uow:
            products = uow.products
        with pytest.raises(TransactionError, match="has ended"):
            products.get("A")
        with pytest.raises(TransactionError, match="has ended"):
            products.add(Product("B", 1))

    def test_entering_returns_the_unit_of_work(self, store: InMemoryStore) -> None:
        """`with uow as x` binds the unit of work itself, typed as the subclass."""
        uow = FakeUnitOfWork(store)
        with uow as entered:
            assert entered is uow


class TestKeys:
    def test_a_plain_class_needs_a_key_function(self) -> None:
        """A repository of a class that is not an Entity is refused without ``key=``."""
        with InMemoryUnitOfWork() as uow, pytest.raises(TypeError, match=r"Note.*pass key="):
            uow.repository(Note)

    def test_a_key_function_makes_any_class_storable(self, store: InMemoryStore) -> None:
        """With ``key=``, plain objects are stored, loaded by key and isolated like aggregates."""
        with InMemoryUnitOfWork(store) as uow:
            uow.repository(Note, key=lambda note: note.code).add(Note("n1", "hello"))
            uow.commit()
        with InMemoryUnitOfWork(store) as uow:
            notes = uow.repository(Note, key=lambda note: note.code)
            loaded = notes.get("n1")
            assert loaded is not None
            assert loaded.text == "hello"
            loaded.text = "changed"
            uow.commit()
        assert store.keys(Note) == ["n1"]
        with InMemoryUnitOfWork(store) as uow:
            again = uow.repository(Note, key=lambda note: note.code).get("n1")
            assert again is not None
            assert again.text == "changed"

    def test_objects_without_a_version_report_version_zero(self, store: InMemoryStore) -> None:
        """A stored object with no ``version`` attribute is reported at version 0."""
        with InMemoryUnitOfWork(store) as uow:
            uow.repository(Note, key=lambda note: note.code).add(Note("n1", "hello"))
            uow.commit()
        assert store.version_of(Note, "n1") == 0

    def test_a_key_function_overrides_an_entity_key(self, store: InMemoryStore) -> None:
        """``key=`` also works for entities, keying them by something else."""
        with InMemoryUnitOfWork(store) as uow:
            uow.repository(Part, key=lambda part: part.qty).add(Part("p", 7))
            uow.commit()
        assert store.keys(Part) == [7]


class TestEvents:
    def test_events_are_harvested_at_commit(self, store: InMemoryStore) -> None:
        """`collect_new_events()` returns committed events in order, once, and clears them."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A")
            product.restock(5)
            uow.products.add(product)
            assert list(uow.collect_new_events()) == []
            uow.commit()
            assert product.events == []
        assert list(uow.collect_new_events()) == [Restocked("A", 5)]
        assert list(uow.collect_new_events()) == []

    def test_events_of_rolled_back_work_are_discarded(self, store: InMemoryStore) -> None:
        """Leaving the block without commit, or `rollback()`, throws the pending events away."""
        add(store, Product("A"))
        uow = FakeUnitOfWork(store)
        with uow:
            left = uow.products.get("A")
            assert left is not None
            left.restock(1)
        with uow:
            rolled = uow.products.get("A")
            assert rolled is not None
            rolled.restock(2)
            uow.rollback()
            uow.commit()
        assert left.events == []
        assert rolled.events == []
        assert list(uow.collect_new_events()) == []

    def test_committed_events_survive_a_later_rollback(self, store: InMemoryStore) -> None:
        """Events committed earlier in the transaction are kept when later work rolls back."""
        uow = FakeUnitOfWork(store)
        with uow:
            product = Product("A")
            uow.products.add(product)
            product.restock(1)
            uow.commit()
            product.restock(2)
        assert list(uow.collect_new_events()) == [Restocked("A", 1)]

    def test_events_accumulate_over_transactions_until_collected(
        self, store: InMemoryStore
    ) -> None:
        """Events of several committed transactions wait together for collection."""
        add(store, Product("A"))
        uow = FakeUnitOfWork(store)
        for qty in (1, 2):
            with uow:
                product = uow.products.get("A")
                assert product is not None
                product.restock(qty)
                uow.commit()
        assert list(uow.collect_new_events()) == [Restocked("A", 1), Restocked("A", 2)]

    def test_events_of_an_unchanged_aggregate_are_harvested(self, store: InMemoryStore) -> None:
        """An aggregate that recorded an event but changed nothing still yields its event."""
        add(store, Product("A"))
        with FakeUnitOfWork(store) as uow:
            product = uow.products.get("A")
            assert product is not None
            product.look()
            uow.commit()
        assert list(uow.collect_new_events()) == [Looked("A")]
        assert store.version_of(Product, "A") == 1

    def test_a_conflicting_commit_harvests_nothing(self, store: InMemoryStore) -> None:
        """When commit raises ConcurrencyError, none of the transaction's events are kept."""
        add(store, Product("A"))
        loser, winner = FakeUnitOfWork(store), FakeUnitOfWork(store)
        with loser:
            mine = loser.products.get("A")
            assert mine is not None
            mine.restock(1)
            with winner:
                theirs = winner.products.get("A")
                assert theirs is not None
                theirs.restock(2)
                winner.commit()
            with pytest.raises(ConcurrencyError, match="changed by another") as caught:
                loser.commit()
        assert (caught.value.aggregate_type, caught.value.key) == (Product, "A")
        assert list(loser.collect_new_events()) == []
        assert list(winner.collect_new_events()) == [Restocked("A", 2)]
        assert mine.events == []

    def test_untracked_aggregates_contribute_no_events(self, store: InMemoryStore) -> None:
        """Only aggregates the transaction tracks are harvested."""
        with FakeUnitOfWork(store) as uow:
            stray = Product("A")
            stray.restock(1)
            uow.commit()
        assert list(uow.collect_new_events()) == []
        assert stray.events == [Restocked("A", 1)]


class TestVersions:
    def test_a_new_aggregate_commits_as_version_one(self, store: InMemoryStore) -> None:
        """The first commit sets ``version`` to 1, on the object in hand and in the store."""
        product = Product("A")
        product.version = 41
        add(store, product)
        assert product.version == 1
        assert store.version_of(Product, "A") == 1

    def test_each_committed_change_adds_one(self, store: InMemoryStore) -> None:
        """Every commit that changes the aggregate bumps its version by exactly one."""
        add(store, Product("A"))
        for expected in (2, 3, 4):
            with FakeUnitOfWork(store) as uow:
                product = uow.products.get("A")
                assert product is not None
                product.restock(1)
                uow.commit()
            assert product.version == expected
        assert store.version_of(Product, "A") == 4

    def test_a_change_to_a_child_bumps_the_version(self, store: InMemoryStore) -> None:
        """Changing an entity inside the aggregate is a change of the aggregate."""
        add(store, Product("A", parts=[Part("p", 1)]))
        with FakeUnitOfWork(store) as uow:
            product = uow.products.get("A")
            assert product is not None
            product.parts[0].qty = 2
            uow.commit()
        assert store.version_of(Product, "A") == 2
        assert load(store, "A").parts[0].qty == 2

    def test_reading_never_bumps_the_version(self, store: InMemoryStore) -> None:
        """Committing a transaction that only read an aggregate leaves its version alone."""
        add(store, Product("A", parts=[Part("p", 1)]))
        with FakeUnitOfWork(store) as uow:
            assert uow.products.get("A") is not None
            uow.commit()
            uow.commit()
        assert store.version_of(Product, "A") == 1

    def test_commits_within_one_transaction_count_separately(self, store: InMemoryStore) -> None:
        """Change, commit, change, commit in one block: two versions more."""
        with FakeUnitOfWork(store) as uow:
            product = Product("A")
            uow.products.add(product)
            uow.commit()
            product.restock(1)
            uow.commit()
            product.restock(1)
            uow.commit()
            uow.commit()
        assert (product.version, store.version_of(Product, "A")) == (3, 3)

    def test_a_version_that_is_not_a_number_is_left_alone(self, store: InMemoryStore) -> None:
        """Only an integer ``version`` is counted; a boolean one is not touched."""
        flag = Note("n1", "x")
        flag.version = True  # type: ignore[attr-defined]
        with InMemoryUnitOfWork(store) as uow:
            uow.repository(Note, key=lambda note: note.code).add(flag)
            uow.commit()
        assert flag.version is True  # type: ignore[attr-defined]
        assert store.version_of(Note, "n1") is True

    def test_a_rejected_commit_writes_nothing(self, store: InMemoryStore) -> None:
        """When one aggregate conflicts, the others changed in that commit are not written."""
        add(store, Product("A"), Product("B"))
        with FakeUnitOfWork(store) as loser:
            first, second = loser.products.get("A"), loser.products.get("B")
            assert first is not None
            assert second is not None
            first.restock(1)
            second.restock(1)
            with FakeUnitOfWork(store) as winner:
                theirs = winner.products.get("B")
                assert theirs is not None
                theirs.restock(5)
                winner.commit()
            with pytest.raises(ConcurrencyError):
                loser.commit()
        assert (load(store, "A").qty, load(store, "A").version) == (0, 1)
        assert (load(store, "B").qty, load(store, "B").version) == (5, 2)

    def test_an_insert_race_is_a_conflict(self, store: InMemoryStore) -> None:
        """Two units of work adding one key: the second commit raises ConcurrencyError."""
        with FakeUnitOfWork(store) as first, FakeUnitOfWork(store) as second:
            first.products.add(Product("A", qty=1))
            second.products.add(Product("A", qty=2))
            first.commit()
            with pytest.raises(ConcurrencyError, match="added by another"):
                second.commit()
        assert load(store, "A").qty == 1
