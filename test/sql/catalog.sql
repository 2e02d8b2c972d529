-- Every object of the extension has a COMMENT, and so does every column of
-- its configuration tables, so \dx+ and \d+ explain themselves.  The
-- schema the extension is created in holds the functions users call; the
-- ones only the extension calls are in segment_internal.
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

-- \df in the extension's schema: the functions users call, and no other
SELECT p.proname AS api, count(*) AS overloads
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segment'
WHERE p.pronamespace = e.extnamespace
GROUP BY 1 ORDER BY 1;
-- the rest, in segment_internal: the API and the views run with the
-- caller's rights and call them, so PUBLIC keeps EXECUTE
SELECT count(*) > 100 AS internal_functions, bool_and(has_function_privilege('public', p.oid, 'EXECUTE')) AS public_may_call
FROM pg_proc p WHERE p.pronamespace = 'segment_internal'::regnamespace;
