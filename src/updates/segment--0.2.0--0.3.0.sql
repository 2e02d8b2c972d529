-- segment 0.2.0 -> 0.3.0.  Every change to the install pieces in src/*.sql
-- since 0.2.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.3.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.3.0'" to load this file. \quit

-- the analysis time is read in C: the trigger reads it for every order, and
-- a SQL function with its own search_path is parsed at every call
-- (src/analysis_time.c)
CREATE OR REPLACE FUNCTION @extschema@.segment_as_of() RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
