from tests.members.conftest import desk  # noqa: F401  (a store with staff of every role)
