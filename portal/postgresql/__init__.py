"""PostgreSQL through psycopg's pool, with a line for busy moments (see `base`)."""
