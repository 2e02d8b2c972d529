-- Security: no function is SECURITY DEFINER; every function written in SQL
-- or PL/pgSQL runs with a fixed search_path that starts with pg_catalog; the
-- extension is not trusted; PUBLIC is granted reading only.  A role that is
-- not superuser attaches, maintains and reads tables it owns, and cannot
-- attach or maintain tables it does not own, change another role's
-- attachments, rules or maps, smuggle statements or other roles' objects
-- into an attachment row, or read another role's customers through views
-- it was granted (they are security_invoker).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set VERBOSITY terse
SET segment.as_of = '2025-01-01';

-- the extension's functions
CREATE TEMP VIEW security_functions AS
SELECT p.oid::regprocedure AS function, p.prosecdef, p.proconfig, l.lanname
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
JOIN pg_language l ON l.oid = p.prolang
WHERE e.extname = 'segment' AND d.deptype = 'e';
SELECT count(*) > 50 AS many_functions FROM security_functions;

-- none runs with its owner's rights
SELECT function AS security_definer FROM security_functions WHERE prosecdef;

-- SQL and PL/pgSQL functions pin search_path: pg_catalog first, pg_temp last
SELECT function AS without_fixed_search_path, proconfig
FROM security_functions
WHERE lanname NOT IN ('c', 'internal')
  AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) s
				  WHERE s ~ '^search_path=pg_catalog(, segment_internal)?(, [^,]+)?, pg_temp$')
ORDER BY 1::text;
SELECT lanname, count(*) > 0 AS some FROM security_functions GROUP BY lanname ORDER BY 1;

-- installing it takes a superuser
SELECT DISTINCT trusted, superuser FROM pg_available_extension_versions WHERE name = 'segment';

-- what PUBLIC is granted on the extension's tables: reading, nothing else
SELECT c.relname, a.privilege_type
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid,
	 aclexplode(c.relacl) a
WHERE e.extname = 'segment' AND d.deptype = 'e' AND a.grantee = 0
ORDER BY 1, 2;

-- the tables roles write to attach, guarded row by row
SELECT c.relname, c.relrowsecurity, count(p.*) AS policies
FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
WHERE c.oid IN ('attachments'::regclass, 'segment_rules'::regclass)
GROUP BY 1, 2 ORDER BY 1;

-- two roles with a shop each
CREATE ROLE security_alice;
CREATE ROLE security_bob;
CREATE SCHEMA security_alice AUTHORIZATION security_alice;
CREATE SCHEMA security_bob AUTHORIZATION security_bob;
SET ROLE security_alice;
CREATE TABLE security_alice.customers (customer_id int PRIMARY KEY, city text);
CREATE TABLE security_alice.orders (order_id serial PRIMARY KEY, customer_id int, ordered_at timestamptz, amount numeric);
CREATE INDEX ON security_alice.orders (customer_id);
INSERT INTO security_alice.customers SELECT c, (ARRAY['Izmir', 'Ankara'])[1 + c % 2] FROM generate_series(1, 40) c;
INSERT INTO security_alice.orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 200), c + k
FROM generate_series(1, 30) c, generate_series(1, 1 + c % 4) k;
-- without the grant the README names, attaching stops at the table
SELECT attach('security_alice', 'security_alice.orders', 'customer_id', 'ordered_at', 'amount');
RESET ROLE;
GRANT INSERT, UPDATE, DELETE ON attachments, segment_rules TO security_alice, security_bob;

-- alice attaches, maintains and reads her own tables
SET ROLE security_alice;
SELECT count(*) AS views FROM attach('security_alice', 'security_alice.orders', 'customer_id', 'ordered_at', 'amount',
									  'security_alice.customers', 'customer_id');
SELECT define_segment_rule('security_alice', 'Izmir', $$city = 'Izmir'$$);
SELECT maintain_attachment('security_alice');
INSERT INTO security_alice.orders (customer_id, ordered_at, amount) VALUES (35, '2024-12-30', 99);
UPDATE security_alice.orders SET amount = amount + 1 WHERE customer_id = 1;
DELETE FROM security_alice.orders WHERE customer_id = 2;
SELECT refresh_attachment_thresholds('security_alice') IS NOT NULL AS refreshed;
SELECT count(*) AS customers, count(*) FILTER (WHERE order_count = 0) AS prospects
FROM security_alice.security_alice_customers;
SELECT segment, member_customers FROM security_alice.security_alice_segment_summary WHERE kind = 'rule';
SELECT sum(customers) AS customers FROM security_alice.security_alice_lifecycle_summary;
-- what an attachment row names must be hers: no statements, no other objects
UPDATE attachments SET views = views || 'security_alice.x; ALTER ROLE security_alice SUPERUSER'::text;
UPDATE attachments SET views = views || 'pg_catalog.pg_stats'::text;
UPDATE attachments SET state_table = 'pg_catalog.pg_class';
UPDATE attachments SET tags_table = 'pg_catalog.pg_class';
-- bob may use her schema and read her views, nothing more
GRANT USAGE ON SCHEMA security_alice TO security_bob;
GRANT SELECT ON ALL TABLES IN SCHEMA security_alice TO security_bob;
REVOKE SELECT ON security_alice.orders, security_alice.customers, security_alice.security_alice_state FROM security_bob;
RESET ROLE;

-- bob attaches his own table, not alice's
SET ROLE security_bob;
CREATE TABLE security_bob.orders (customer_id int, ordered_at date, amount integer);
INSERT INTO security_bob.orders VALUES (1, '2024-06-01', 10), (2, '2024-07-01', 20), (2, '2024-08-01', 5);
SELECT count(*) AS views FROM attach('security_bob', 'security_bob.orders', 'customer_id', 'ordered_at', 'amount');
SELECT attach('security_bob_steals', 'security_alice.orders', 'customer_id', 'ordered_at', 'amount',
			  view_schema => 'security_bob');
-- alice's attachment is not his to see, maintain, change or detach
SELECT attachment_name FROM attachments ORDER BY 1;
SELECT count(*) AS alice_rules_seen FROM segment_rules WHERE attachment_name = 'security_alice';
SELECT maintain_attachment('security_alice');
SELECT refresh_attachment_thresholds('security_alice');
SELECT detach('security_alice');
SELECT define_segment_rule('security_alice', 'Everyone', 'true');
SELECT drop_segment_rule('security_alice', 'Izmir');
INSERT INTO segment_rules VALUES ('security_alice', 'Everyone', 'true');
UPDATE attachments SET bins = 3 WHERE attachment_name = 'security_alice';
UPDATE segment_rules SET expression = 'true' WHERE attachment_name = 'security_alice';
DELETE FROM segment_rules WHERE attachment_name = 'security_alice';
DELETE FROM attachments WHERE attachment_name = 'security_alice';
-- nor are the maps
INSERT INTO segment_maps VALUES ('security_bob', 5);
UPDATE segment_map_boxes SET priority = priority WHERE map_name = 'default';
DELETE FROM segment_maps WHERE map_name <> 'default';
SELECT copy_segment_map('default', 'security_bob');
-- her views are granted to him, her customers are not: the views read
-- the tables with his rights
SELECT count(*) FROM security_alice.security_alice_customers;
SELECT count(*) FROM security_alice.security_alice_segment_summary;
SELECT count(*) FROM security_alice.security_alice_segment_izmir;
-- his own attachment works
SELECT define_segment_rule('security_bob', 'Twice', 'order_count >= 2');
SELECT customer_id, order_count, segments FROM security_bob.security_bob_customers ORDER BY 1;
RESET ROLE;

-- once alice lets bob read her tables, he reads her customers as she does,
-- scored against her stored thresholds; still he cannot store new ones
SET ROLE security_alice;
GRANT SELECT ON security_alice.customers, security_alice.security_alice_state TO security_bob;
SELECT md5(string_agg(c::text, E'\n' ORDER BY c.customer_id)) AS alice_reads
FROM security_alice.security_alice_customers c \gset
RESET ROLE;
SET ROLE security_bob;
SELECT md5(string_agg(c::text, E'\n' ORDER BY c.customer_id)) = :'alice_reads' AS bob_reads_the_same
FROM security_alice.security_alice_customers c;
SELECT attachment_name FROM attachments ORDER BY 1;
SELECT maintain_attachment('security_alice');
SET segment.as_of = '2025-02-01';
SELECT refresh_attachment_thresholds('security_alice') IS NOT NULL AS computed;
SET segment.as_of = '2025-01-01';
SELECT detach('security_alice');
RESET ROLE;

-- nothing of alice's changed
SELECT attachment_name, bins, state_table, thresholds_as_of, cardinality(views) AS views FROM attachments
WHERE attachment_name LIKE 'security%' ORDER BY 1;
SELECT attachment_name, rule_name, expression FROM segment_rules WHERE attachment_name LIKE 'security%' ORDER BY 1, 2;
SELECT count(*) AS maps FROM segment_maps WHERE map_name LIKE 'security%';

SET ROLE security_bob;
SELECT detach('security_bob');
RESET ROLE;
SET ROLE security_alice;
SELECT detach('security_alice');
RESET ROLE;
REVOKE ALL ON attachments, segment_rules FROM security_alice, security_bob;
DROP SCHEMA security_alice CASCADE;
DROP SCHEMA security_bob CASCADE;
DROP ROLE security_alice, security_bob;

-- a role that may create functions in the extension's schema (public here)
-- plants some named as the extension's internal ones: they are never
-- called, by the event triggers nor by the functions that build views,
-- since segment_internal comes first on every search_path
CREATE ROLE security_planter;
GRANT CREATE ON SCHEMA public TO security_planter;
SET ROLE security_planter;
CREATE FUNCTION public.readable_attachments() RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN RAISE EXCEPTION 'planted readable_attachments() called'; END $$;
CREATE FUNCTION public.member_columns(regclass) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN RAISE EXCEPTION 'planted member_columns() called'; END $$;
CREATE FUNCTION public.customers_view_query(attachments) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN RAISE EXCEPTION 'planted customers_view_query() called'; END $$;
RESET ROLE;
CREATE TABLE security_planted_probe (customer_id int, t timestamptz, amount numeric);
SELECT count(*) AS views FROM attach('security_planted', 'security_planted_probe', 'customer_id', 't', 'amount');
SELECT define_segment_rule('security_planted', 'Big', 'total_amount > 100');
ALTER TABLE security_planted_probe ADD COLUMN note text;
SELECT detach('security_planted');
DROP TABLE security_planted_probe;
DROP OWNED BY security_planter;
REVOKE CREATE ON SCHEMA public FROM security_planter;
DROP ROLE security_planter;
