-- Every object of the extension has a COMMENT, and so does every column of
-- its configuration tables, so \dx+ and \d+ explain themselves.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;

SELECT pg_describe_object(d.classid, d.objid, 0) AS without_comment
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'segment' AND d.deptype = 'e'
  AND obj_description(d.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = d.classid)) IS NULL
ORDER BY 1;

SELECT c.relname || '.' || a.attname AS column_without_comment
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE e.extname = 'segment' AND d.deptype = 'e' AND c.relkind = 'r'
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1;

SELECT count(*) > 100 AS many_objects
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'segment' AND d.deptype = 'e';
