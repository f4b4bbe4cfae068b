"""Parts of bench/migrate.py: (a) the save() loop, (c) the floor, and the report."""
