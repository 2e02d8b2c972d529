-- views: what the views of an attachment judge, and what survives their
-- rebuild.  Proves: a segment view judges its own rule and no other (its
-- plan reads no table another rule reads) and the summary judges each rule
-- once per customer; every segment view lists exactly the customers whose
-- segments hold it; a label with a comma stays whole in segments; segment
-- names in other alphabets give readable view names; primary_customers
-- counts each customer once, as GROUP BY segment does; a user's view on the
-- attachment's views survives define_segment_rule, one on a view that must
-- go stops it with a hint; a rule reading a table its author may not read
-- is refused as a missing privilege, not as an invalid rule; a view of
-- another role under an attachment view's name is left alone; a rule's
-- text reads the same under any standard_conforming_strings; another
-- rule's failure is not blamed on the rule defined; view names are cut at
-- 63 bytes; customers columns named like the view's inner columns work;
-- a rule may name the segments of the map and of the other rules.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
SET segment.as_of = '2025-01-01 00:00:00+00';

CREATE SCHEMA vw;
CREATE TABLE vw.customers (customer_id bigint PRIMARY KEY, city text);
CREATE TABLE vw.orders (customer_id bigint, ordered_at timestamptz, amount numeric);
CREATE TABLE vw.events (customer_id bigint, kind text);   -- no index, as in the wild
INSERT INTO vw.customers SELECT c, (ARRAY['Istanbul', 'Izmir', 'Ankara'])[1 + c % 3] FROM generate_series(1, 200) c;
INSERT INTO vw.orders
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 400), 10 + (c * k) % 90
FROM generate_series(1, 190) c, generate_series(1, 1 + c % 6) k;
INSERT INTO vw.events SELECT c, 'click' FROM generate_series(1, 200, 7) c;
SELECT count(*) AS views FROM attach('vw', 'vw.orders', 'customer_id', 'ordered_at', 'amount', 'vw.customers', 'customer_id');
SELECT define_segment_rule('vw', 'Istanbul', $$city = 'Istanbul'$$);
SELECT define_segment_rule('vw', 'Clicked', $$EXISTS (SELECT 1 FROM vw.events e WHERE e.customer_id = customer.customer_id)$$);
SELECT define_segment_rule('vw', 'Books, music', 'order_count >= 3');
SELECT define_segment_rule('vw', 'Öğrenci', 'order_count = 1');
SELECT define_segment_rule('vw', 'Hűséges vásárlók', 'order_count >= 5');

-- a subquery without an index on the customer is reported when defined,
-- with the index to make; with it, nothing is
CREATE INDEX events_customer ON vw.events (customer_id);
SELECT define_segment_rule('vw', 'Clicked', $$EXISTS (SELECT 1 FROM vw.events e WHERE e.customer_id = customer.customer_id)$$);
SELECT * FROM segment_internal.rule_full_scans('vw.vw_customers', 'EXISTS (SELECT 1 FROM vw.events e WHERE customer.customer_id = e.customer_id)');
DROP INDEX vw.events_customer;
SELECT * FROM segment_internal.rule_full_scans('vw.vw_customers', 'EXISTS (SELECT 1 FROM vw.events e WHERE customer.customer_id = e.customer_id)');
SELECT * FROM segment_internal.rule_full_scans('vw.vw_customers', 'EXISTS (SELECT 1 FROM vw.events e WHERE e.kind = city)');

-- view names read as the segment names do
SELECT v AS view_name FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'vw')) v
WHERE v ~ 'segment_(ogrenci|huseges|books|clicked)' ORDER BY 1;
SELECT segment_internal.segment_slug('Öğrenci') AS turkish, segment_internal.segment_slug('Hűséges vásárlók') AS hungarian,
	   segment_internal.segment_slug('Straße Œuvre Łódź') AS other_latin, segment_internal.segment_slug('постоянные клиенты') AS cyrillic,
	   segment_internal.segment_slug('Top 10% «VIP» – 2024') AS punctuation, segment_internal.segment_slug('Can’t Lose Them') AS typographic,
	   segment_internal.segment_slug('Can''t Lose Them') AS apostrophe;

-- which tables a query reads, by the plan
CREATE FUNCTION pg_temp.reads_of(query text, relation text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint := 0;
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		IF line ~ ('Scan on ' || relation || '( |$)') THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END $$;
SELECT pg_temp.reads_of('SELECT * FROM vw.vw_segment_istanbul', 'events') AS istanbul_view,
	   pg_temp.reads_of('SELECT * FROM vw.vw_segment_books_music', 'events') AS books_view,
	   pg_temp.reads_of('SELECT * FROM vw.vw_segment_champions', 'events') AS champions_view,
	   pg_temp.reads_of('SELECT * FROM vw.vw_segment_clicked', 'events') AS clicked_view,
	   pg_temp.reads_of('SELECT * FROM vw.vw_customers', 'events') AS customers_view,
	   pg_temp.reads_of('SELECT * FROM vw.vw_segment_summary', 'events') AS summary,
	   pg_temp.reads_of('SELECT * FROM vw.vw_segment_members', 'events') AS members;

-- every segment view lists exactly the customers whose segments hold the
-- segment, and the members view the same pairs
CREATE FUNCTION pg_temp.view_differences() RETURNS TABLE (segment text, differences bigint) LANGUAGE plpgsql AS $$
DECLARE
	s record;
BEGIN
	FOR s IN SELECT l.segment FROM vw.vw_segment_summary l WHERE l.kind <> 'unsegmented' LOOP
		segment := s.segment;
		EXECUTE format($q$SELECT count(*) FROM (
			(SELECT customer_id FROM %I.%I EXCEPT ALL SELECT customer_id FROM vw.vw_customers WHERE %L = ANY (segments))
			UNION ALL
			(SELECT customer_id FROM vw.vw_customers WHERE %L = ANY (segments) EXCEPT ALL SELECT customer_id FROM %I.%I)
			UNION ALL
			(SELECT customer_id FROM vw.vw_segment_members WHERE segment = %L
			 EXCEPT ALL SELECT customer_id FROM vw.vw_customers WHERE %L = ANY (segments))) d$q$,
			'vw', 'vw_segment_' || segment_internal.segment_slug(s.segment), s.segment, s.segment, 'vw', 'vw_segment_' || segment_internal.segment_slug(s.segment),
			s.segment, s.segment) INTO differences;
		RETURN NEXT;
	END LOOP;
END $$;
SELECT count(*) AS segments, sum(differences) AS differences FROM pg_temp.view_differences();
-- the rules by hand
SELECT (SELECT count(*) FROM vw.vw_segment_istanbul) AS istanbul,
	   (SELECT count(*) FROM vw.customers WHERE city = 'Istanbul') AS by_hand,
	   (SELECT count(*) FROM vw.vw_segment_clicked) AS clicked,
	   (SELECT count(DISTINCT customer_id) FROM vw.events) AS clicked_by_hand;

-- a label with a comma is one element of segments
SELECT count(*) FILTER (WHERE 'Books, music' = ANY (segments)) AS labelled,
	   count(*) FILTER (WHERE order_count >= 3) AS by_hand,
	   count(*) FILTER (WHERE 'Books' = ANY (segments)) AS split
FROM vw.vw_customers;

-- the summary: member_customers counts memberships, primary_customers
-- each customer once, as GROUP BY segment over the customers view does
-- (the customers without a segment, the prospects, in a row of their own)
SELECT s.segment, s.member_customers, s.primary_customers, coalesce(g.customers, 0) AS grouped
FROM vw.vw_segment_summary s
	 LEFT JOIN (SELECT segment, count(*) AS customers FROM vw.vw_customers GROUP BY segment) g
	 ON g.segment IS NOT DISTINCT FROM s.segment
WHERE s.kind <> 'rule' AND s.primary_customers IS DISTINCT FROM coalesce(g.customers, 0);
SELECT sum(primary_customers) AS primary_total, (SELECT count(*) FROM vw.vw_customers) AS customers,
	   round(sum(primary_share), 12) AS primary_shares,
	   (SELECT primary_customers FROM vw.vw_segment_summary WHERE kind = 'unsegmented') AS unsegmented,
	   (SELECT count(*) FROM vw.vw_customers WHERE segment IS NULL) AS without_a_segment,
	   count(*) FILTER (WHERE kind = 'rule' AND primary_customers IS NOT NULL) AS rules_with_primary
FROM vw.vw_segment_summary;
SELECT count(*) AS wrong_counts FROM vw.vw_segment_summary s
WHERE s.kind <> 'unsegmented'
  AND s.member_customers <> (SELECT count(*) FROM vw.vw_customers c WHERE s.segment = ANY (c.segments));

-- a rule may name the customer's segments: those of the map and of the
-- rules that do not name segments themselves
SELECT define_segment_rule('vw', 'Istanbul regulars', $$'Istanbul' = ANY (segments) AND 'Books, music' = ANY (segments)$$);
SELECT define_segment_rule('vw', 'Clicked twice', $$customer.segments @> ARRAY['Clicked', 'Books, music']$$);
SELECT (SELECT count(*) FROM vw.vw_segment_istanbul_regulars) AS istanbul_regulars,
	   (SELECT count(*) FROM vw.vw_customers WHERE city = 'Istanbul' AND order_count >= 3) AS by_hand,
	   (SELECT count(*) FROM vw.vw_segment_clicked_twice) AS clicked_twice,
	   (SELECT count(*) FROM vw.vw_customers c WHERE c.order_count >= 3
		  AND EXISTS (SELECT 1 FROM vw.events e WHERE e.customer_id = c.customer_id)) AS clicked_twice_by_hand;
SELECT count(*) AS segments, sum(differences) AS differences FROM pg_temp.view_differences();
SELECT customer_id, segments FROM vw.vw_customers WHERE 'Istanbul regulars' = ANY (segments) ORDER BY customer_id LIMIT 1;
-- one that names a rule which names segments finds nothing there
SELECT define_segment_rule('vw', 'Nested', $$'Istanbul regulars' = ANY (segments)$$);
SELECT count(*) AS nested FROM vw.vw_segment_nested;
SELECT segment_internal.segment_rule_names_segments('segments IS NULL') AS bare,
	   segment_internal.segment_rule_names_segments('customer.segments IS NULL') AS qualified,
	   segment_internal.segment_rule_names_segments($$'segments' = city$$) AS in_a_string,
	   segment_internal.segment_rule_names_segments('EXISTS (SELECT 1 FROM vw.events e WHERE e.kind = ANY (segments))') AS in_a_subquery,
	   segment_internal.segment_rule_names_segments($$'Istanbul' = ANY ((customer).segments)$$) AS field_of_the_row,
	   segment_internal.segment_rule_names_segments($$to_jsonb(customer) ? 'city'$$) AS whole_row,
	   segment_internal.segment_rule_names_segments('customer.customer_id > 3') AS other_column;
-- a rule over the whole row sees the same row in every view
SELECT define_segment_rule('vw', 'Whole row', $$to_jsonb(customer) -> 'segments' ? 'Istanbul'$$);
SELECT (SELECT count(*) FROM vw.vw_segment_whole_row) AS members,
	   (SELECT count(*) FROM vw.vw_customers WHERE 'Whole row' = ANY (segments)) AS in_segments,
	   (SELECT count(*) FROM vw.customers WHERE city = 'Istanbul') AS by_hand;
SELECT drop_segment_rule('vw', 'Whole row');
SELECT drop_segment_rule('vw', 'Nested'), drop_segment_rule('vw', 'Clicked twice'), drop_segment_rule('vw', 'Istanbul regulars');

-- a user's views on the attachment's views survive a new rule, and so do
-- the grants on them
CREATE ROLE segment_view_reader;
GRANT USAGE ON SCHEMA vw TO segment_view_reader;
GRANT SELECT ON vw.vw_segment_istanbul TO segment_view_reader;
CREATE VIEW vw.istanbul_report AS SELECT count(*) AS customers FROM vw.vw_segment_istanbul;
CREATE VIEW vw.everyone AS SELECT customer_id, segments FROM vw.vw_customers;
SELECT define_segment_rule('vw', 'Ankara', $$city = 'Ankara'$$);
SELECT (SELECT customers FROM vw.istanbul_report) AS istanbul,
	   (SELECT count(*) FROM vw.everyone WHERE 'Ankara' = ANY (segments)) AS ankara,
	   has_table_privilege('segment_view_reader', 'vw.vw_segment_istanbul', 'SELECT') AS still_granted;
-- one on the view of a segment that goes stops it, with a hint
CREATE VIEW vw.ankara_report AS SELECT count(*) AS customers FROM vw.vw_segment_ankara;
SELECT drop_segment_rule('vw', 'Ankara');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW vw.ankara_report;
SELECT drop_segment_rule('vw', 'Ankara');
-- a new column of the customers table changes the customers view's
-- columns: its views are built anew, which the user's views stop; their
-- owners and the grants on their columns stay
CREATE ROLE segment_view_admin;
DO $$ BEGIN EXECUTE format('GRANT %I TO segment_view_admin', current_user); END $$;
ALTER VIEW vw.vw_segment_istanbul OWNER TO segment_view_admin;
GRANT SELECT (customer_id, city) ON vw.vw_customers TO segment_view_reader;
ALTER TABLE vw.customers ADD COLUMN plan text;
SELECT count(*) AS views FROM rebuild_attachment_views('vw');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW vw.everyone, vw.istanbul_report;
SELECT count(*) AS views FROM rebuild_attachment_views('vw');
SELECT has_table_privilege('segment_view_reader', 'vw.vw_segment_istanbul', 'SELECT') AS granted_after_rebuild,
	   (SELECT count(*) FROM pg_attribute WHERE attrelid = 'vw.vw_customers'::regclass AND attname = 'plan') AS new_column,
	   pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = 'vw.vw_segment_istanbul'::regclass)) AS owner,
	   has_column_privilege('segment_view_reader', 'vw.vw_customers', 'city', 'SELECT') AS column_granted,
	   has_column_privilege('segment_view_reader', 'vw.vw_customers', 'plan', 'SELECT') AS new_column_granted;

-- a rule that reads what its author may not read is refused for that
CREATE ROLE segment_view_author;
CREATE SCHEMA vw_own AUTHORIZATION segment_view_author;
CREATE TABLE vw.secret (customer_id bigint);
GRANT USAGE ON SCHEMA vw TO segment_view_author;
-- as the README says a DBA lets a role attach its own tables
GRANT INSERT, UPDATE, DELETE ON attachments, segment_rules TO segment_view_author;
SET ROLE segment_view_author;
CREATE TABLE vw_own.orders (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO vw_own.orders VALUES (1, '2024-12-01', 10);
SELECT count(*) AS views FROM attach('mine', 'vw_own.orders', 'customer_id', 'ordered_at', 'amount');
SELECT define_segment_rule('mine', 'Secret', 'EXISTS (SELECT 1 FROM vw.secret s WHERE s.customer_id = customer.customer_id)');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('mine', 'Unknown', 'no_such_column > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT detach('mine');
RESET ROLE;

-- a view another role created under the name of one of the attachment's
-- views, once those were dropped, is neither replaced nor dropped
CREATE ROLE segment_view_stranger;
GRANT CREATE, USAGE ON SCHEMA vw TO segment_view_stranger;
DROP VIEW vw.vw_segment_istanbul;
SET ROLE segment_view_stranger;
CREATE VIEW vw.vw_segment_istanbul AS SELECT 'mine'::text AS owner;
RESET ROLE;
SELECT count(*) AS views FROM rebuild_attachment_views('vw');
\echo :LAST_ERROR_SQLSTATE
SELECT owner FROM vw.vw_segment_istanbul;
DROP VIEW vw.vw_segment_istanbul;
SELECT count(*) AS views FROM rebuild_attachment_views('vw');

-- a rule's text is read with standard_conforming_strings on, whatever
-- the session says, so that a rebuild reads it as its check did
SET standard_conforming_strings = off;
SELECT define_segment_rule('vw', 'Not a backslash', $$city <> '\'$$);
RESET standard_conforming_strings;
SELECT count(*) AS views FROM rebuild_attachment_views('vw');
SELECT count(*) AS members FROM vw.vw_segment_not_a_backslash;
SELECT drop_segment_rule('vw', 'Not a backslash');

-- another rule's failure is not blamed on the rule being defined
CREATE FUNCTION vw.always() RETURNS boolean LANGUAGE sql AS 'SELECT true';
SELECT define_segment_rule('vw', 'Always', 'vw.always()');
SET client_min_messages = warning;
DROP FUNCTION vw.always() CASCADE;   -- and every view of the attachment
RESET client_min_messages;
DO $$
BEGIN
	PERFORM define_segment_rule('vw', 'Izmir', $r$city = 'Izmir'$r$);
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END $$;
DELETE FROM segment_rules WHERE rule_name = 'Always';

-- view names are cut at 63 bytes, not characters: two long names in
-- Cyrillic that differ after the cut would share a view
SELECT define_segment_rule('vw', repeat('д', 30) || ' один', 'order_count = 2');
SELECT define_segment_rule('vw', repeat('д', 30) || ' два', 'order_count = 3');
\echo :LAST_ERROR_SQLSTATE
SELECT v AS long_view, octet_length(btrim(split_part(v, '.', 2), '"')) AS bytes
FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'vw')) v WHERE v ~ 'дд';

-- another map: the views and the summary follow, and a map of other
-- bins, a missing map or one naming a rule segment are refused
SELECT copy_segment_map('default', 'vw_map');
UPDATE segment_map_boxes SET segment_name = 'Best' WHERE map_name = 'vw_map' AND segment_name = 'Champions';
SELECT count(*) AS views FROM set_segment_map('vw', 'vw_map');
SELECT (SELECT map_name FROM attachments WHERE attachment_name = 'vw') AS map_name,
	   to_regclass('vw.vw_segment_best') IS NOT NULL AS best_view, to_regclass('vw.vw_segment_champions') IS NULL AS champions_gone,
	   (SELECT member_customers FROM vw.vw_segment_summary WHERE segment = 'Best')
	   = (SELECT count(*) FROM vw.vw_customers WHERE segment = 'Best' OR 'Best' = ANY (segments)) AS best_counted;
SELECT set_segment_map('vw', 'no such map');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_maps (map_name, bins, description) VALUES ('vw_three', 3, 'three bins');
SELECT set_segment_map('vw', 'vw_three');
\echo :LAST_ERROR_SQLSTATE
SELECT set_segment_map('vw', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT set_segment_map('nothing', 'default');
\echo :LAST_ERROR_SQLSTATE
SELECT copy_segment_map('default', 'vw_clash');
UPDATE segment_map_boxes SET segment_name = 'Istanbul' WHERE map_name = 'vw_clash' AND segment_name = 'Lost';
SELECT set_segment_map('vw', 'vw_clash');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS views FROM set_segment_map('vw', 'default');

SELECT detach('vw');
DELETE FROM segment_maps WHERE map_name IN ('vw_map', 'vw_three', 'vw_clash');

-- columns of a customers table that the customers view computes are
-- refused; the names it uses between its levels are its own
CREATE TABLE vw.with_stats (customer_id bigint PRIMARY KEY, stats text, scores int, judged_at date);
INSERT INTO vw.with_stats SELECT c, 's' || c, c, '2024-01-01' FROM generate_series(1, 20) c;
SELECT count(*) AS views FROM attach('stats', 'vw.orders', 'customer_id', 'ordered_at', 'amount', 'vw.with_stats', 'customer_id');
SELECT count(*) AS customers, count(segment) AS scored, min(stats) AS stats, max(scores) AS scores FROM vw.stats_customers;
SELECT detach('stats');
CREATE TABLE vw.clashing (customer_id bigint PRIMARY KEY, _segment_stats text);
SELECT count(*) AS views FROM attach('clash', 'vw.orders', 'customer_id', 'ordered_at', 'amount', 'vw.clashing', 'customer_id');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA vw, vw_own CASCADE;
DROP OWNED BY segment_view_author;
DROP OWNED BY segment_view_stranger;
DROP OWNED BY segment_view_admin;
DROP ROLE segment_view_reader, segment_view_author, segment_view_stranger, segment_view_admin;
