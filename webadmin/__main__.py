"""Allow ``python -m webadmin``."""

from .cli import main

main()
