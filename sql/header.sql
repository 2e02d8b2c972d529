-- segment: customer segmentation inside PostgreSQL.
-- Assembled by the Makefile from src/*.sql, one piece per concern.

\echo Use "CREATE EXTENSION segment" to load this file. \quit
