-- segment: customer segmentation inside PostgreSQL.
-- Assembled by the Makefile from sql/*.sql, one piece per concern.

\echo Use "CREATE EXTENSION segment" to load this file. \quit

-- The functions users call, the types and the configuration tables live in
-- the schema the extension is created in; the functions only the extension
-- calls (support of the types, triggers, the statements of the state and
-- the builders of the views) in a schema of its own.  Views and SECURITY
-- INVOKER functions call them as the user, hence USAGE for everyone.
CREATE SCHEMA segment_internal;
COMMENT ON SCHEMA segment_internal IS 'functions of the segment extension that only the extension calls';
GRANT USAGE ON SCHEMA segment_internal TO PUBLIC;
