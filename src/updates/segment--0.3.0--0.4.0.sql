-- segment 0.3.0 -> 0.4.0.  Every change to the install pieces in src/*.sql
-- since 0.3.0 appears here too; test/t/upgrade.sh compares the result with a
-- fresh install of 0.4.0.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.4.0'" to load this file. \quit
