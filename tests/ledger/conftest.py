from tests.checkout.conftest import shop  # noqa: F401  (the same small programme)
