"""What the tests share: builders, runners and typed handles. Test modules import from here and
never from one another; the fixtures themselves stay in ``tests/conftest.py``."""
