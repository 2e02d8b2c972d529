-- segment 0.1.0 -> 0.2.0.  Every change to the install pieces in src/*.sql
-- since 0.1.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.2.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.2.0'" to load this file. \quit

-- security: a fixed search_path for every SQL function; row-level security and a check trigger on attachments and segment_rules (src/security.sql)
ALTER FUNCTION @extschema@.segment_as_of() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.segment_slug(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.customer_view_columns() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.column_type(regclass, name) SET search_path = pg_catalog, pg_temp;
