"""mpipanel's benchmarks, beside the product rather than inside it: `python -m benchmarks` from a
source checkout. pyproject.toml installs only `core` and `app`, so none of this is in the wheel."""
