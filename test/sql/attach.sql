-- attach: one call binds segment to existing orders and customers tables and
-- builds the views BI tools read.  Proves: the customers view equals the
-- same computation written by hand; prospects (customers without orders)
-- appear; orders after the analysis time are left out; rule segments are
-- checked when defined (syntax, unknown columns, injection, text that is not
-- one expression) and their members equal a plain WHERE, comments in a rule
-- changing nothing; the summaries equal GROUP BY over the members; every
-- view and column has a comment and a plain type; views are
-- security_invoker, so grants and row-level security of the reader apply;
-- two attachments do not collide; bad calls get clear errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
-- every view judges customers at this time
SET segment.as_of = '2025-01-01 00:00:00+00';

CREATE SCHEMA shop;
CREATE TABLE shop.customers (customer_id bigint PRIMARY KEY, country text, city text, age integer, device text);
CREATE TABLE shop.orders (order_id bigint, customer_id bigint, ordered_at timestamptz, amount numeric(10, 2), category text);
INSERT INTO shop.customers
SELECT c, (ARRAY['TR', 'DE', 'US'])[1 + c % 3], (ARRAY['Istanbul', 'Berlin', 'Austin', 'Ankara'])[1 + c % 4],
	   18 + c % 60, (ARRAY['ios', 'android', 'web'])[1 + c % 3]
FROM generate_series(1, 300) c;
-- customers 1..280 ordered (281..300 are prospects); one order in the future
INSERT INTO shop.orders
SELECT row_number() OVER (ORDER BY t), c, t, round((5 + (hashint8(c * 100 + k)::bigint & 1023) / 10.0)::numeric, 2),
	   (ARRAY['books', 'music', 'games'])[1 + (c + k) % 3]
FROM generate_series(1, 280) c, generate_series(1, 1 + c % 9) k,
	 LATERAL (SELECT timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 400, hours => k) AS t) x;
INSERT INTO shop.orders VALUES (0, 1, '2025-06-01', 999, 'books');

SELECT * FROM attach('shop', 'shop.orders', 'customer_id', 'ordered_at', 'amount',
					 customers => 'shop.customers', customer_key => 'customer_id');

-- rule segments: demographic, geographic, technographic, behavioural
SELECT define_segment_rule('shop', 'Istanbul recent', $$city = 'Istanbul' AND recency_days <= 30$$);
SELECT define_segment_rule('shop', 'Young mobile', $$age < 30 AND device IN ('ios', 'android')$$);
SELECT define_segment_rule('shop', 'Big baskets', 'average_order_value > population_average_order_value');
SELECT define_segment_rule('shop', 'Dormant', 'recency_days > 30', 'no order in the last 30 days');
SELECT define_segment_rule('shop', 'Frequent buyers', 'order_count >= 8');
SELECT define_segment_rule('shop', 'Books last week',
	$$EXISTS (SELECT 1 FROM shop.orders o WHERE o.customer_id = customer.customer_id AND o.category = 'books'
			  AND o.ordered_at > segment_as_of() - interval '7 days' AND o.ordered_at <= segment_as_of())$$);
SELECT attachment_name, cardinality(views) AS views FROM attachments;

-- the customers view against the same numbers computed by hand
WITH plain AS (
	SELECT c.customer_id, count(o.order_id) AS order_count, coalesce(sum(o.amount), 0) AS total_amount,
		   max(o.ordered_at) AS last_order_time
	FROM shop.customers c
	LEFT JOIN shop.orders o ON o.customer_id = c.customer_id AND o.ordered_at <= '2025-01-01'
	GROUP BY c.customer_id
), scored AS (
	SELECT customer_id, rfm_score(rfm_stats(ordered_at, amount), '2025-01-01') OVER () AS rfm,
		   rfm_stats(ordered_at, amount) AS stats
	FROM shop.orders WHERE ordered_at <= '2025-01-01' GROUP BY customer_id
)
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE v.order_count = 0) AS prospects,
	   count(*) FILTER (WHERE v.order_count <> p.order_count OR v.total_amount <> p.total_amount
						   OR v.last_order_time IS DISTINCT FROM p.last_order_time) AS stats_differences,
	   count(*) FILTER (WHERE v.rfm IS DISTINCT FROM s.rfm::text
						   OR v.segment IS DISTINCT FROM segment_assign(s.rfm)
						   OR v.lifecycle_stage <> lifecycle_stage(s.stats, '2025-01-01')) AS score_differences
FROM shop.shop_customers v JOIN plain p USING (customer_id) LEFT JOIN scored s USING (customer_id);
SELECT customer_id, order_count, total_amount, rfm, segment, lifecycle_stage
FROM shop.shop_customers WHERE customer_id IN (1, 281) ORDER BY customer_id;

-- members of each rule segment equal a plain WHERE over the customers view
SELECT r.rule_name,
	   (SELECT count(*) FROM shop.shop_segment_members m WHERE m.segment = r.rule_name) AS members,
	   CASE r.rule_name
		   WHEN 'Istanbul recent' THEN (SELECT count(*) FROM shop.shop_customers WHERE city = 'Istanbul' AND recency_days <= 30)
		   WHEN 'Young mobile' THEN (SELECT count(*) FROM shop.shop_customers WHERE age < 30 AND device IN ('ios', 'android'))
		   WHEN 'Big baskets' THEN (SELECT count(*) FROM shop.shop_customers WHERE average_order_value > population_average_order_value)
		   WHEN 'Dormant' THEN (SELECT count(*) FROM shop.shop_customers WHERE recency_days > 30)
		   WHEN 'Frequent buyers' THEN (SELECT count(*) FROM shop.shop_customers WHERE order_count >= 8)
		   WHEN 'Books last week' THEN (SELECT count(DISTINCT customer_id) FROM shop.orders
										WHERE category = 'books' AND ordered_at > '2024-12-25' AND ordered_at <= '2025-01-01')
	   END AS by_hand
FROM segment_rules r WHERE r.attachment_name = 'shop' ORDER BY r.rule_name;

-- RFM memberships equal segment_memberships of each customer's rfm
SELECT count(*) AS differences FROM (
	(SELECT customer_id, segment FROM shop.shop_segment_members WHERE kind = 'rfm'
	 EXCEPT
	 SELECT customer_id, unnest(segment_memberships(rfm::rfm)) FROM shop.shop_customers)
	UNION ALL
	(SELECT customer_id, unnest(segment_memberships(rfm::rfm)) FROM shop.shop_customers
	 EXCEPT
	 SELECT customer_id, segment FROM shop.shop_segment_members WHERE kind = 'rfm')) d;

-- a segment's view lists exactly its members
SELECT count(*) AS differences FROM (
	(SELECT customer_id FROM shop.shop_segment_dormant EXCEPT
	 SELECT customer_id FROM shop.shop_segment_members WHERE segment = 'Dormant')
	UNION ALL
	(SELECT customer_id FROM shop.shop_segment_members WHERE segment = 'Dormant' EXCEPT
	 SELECT customer_id FROM shop.shop_segment_dormant)) d;
SELECT count(*) AS champions_view, (SELECT count(*) FROM shop.shop_customers WHERE 'Champions' = ANY (segment_memberships(rfm::rfm))) AS by_hand
FROM shop.shop_segment_champions;

-- the summaries against GROUP BY over the members and the customers
SELECT count(*) AS segment_summary_differences FROM (
	SELECT segment, member_customers, member_orders, member_revenue FROM shop.shop_segment_summary
	WHERE member_customers > 0
	EXCEPT
	SELECT segment, count(*)::integer, sum(order_count)::numeric, sum(total_amount)
	FROM shop.shop_segment_members GROUP BY segment) d;
SELECT count(*) AS primary_differences FROM (
	SELECT segment, primary_customers, primary_orders, primary_revenue FROM shop.shop_segment_summary
	WHERE primary_customers > 0
	EXCEPT
	SELECT segment, count(*)::integer, sum(order_count)::numeric, sum(total_amount)
	FROM shop.shop_customers GROUP BY segment) d;
SELECT count(*) FILTER (WHERE member_share <> member_customers / 300.0
						   OR primary_share <> primary_customers / 300.0) AS share_differences,
	   round(sum(primary_share), 12) AS primary_shares, sum(primary_customers) AS primary_customers,
	   sum(member_share) > 1 AS members_overlap
FROM shop.shop_segment_summary;
SELECT segment, kind, primary_customers, member_customers FROM shop.shop_segment_summary WHERE kind <> 'rfm';
SELECT lifecycle_stage, customers, orders, revenue FROM shop.shop_lifecycle_summary;
SELECT count(*) AS lifecycle_differences FROM (
	SELECT lifecycle_stage, customers, orders, revenue FROM shop.shop_lifecycle_summary WHERE customers > 0
	EXCEPT
	SELECT lifecycle_stage, count(*)::integer, sum(order_count)::numeric, sum(total_amount)
	FROM shop.shop_customers GROUP BY lifecycle_stage) d;
SELECT count(*) AS cells, sum(customers) AS customers_in_cells,
	   count(*) FILTER (WHERE g.customers <> coalesce(h.n, 0)) AS grid_differences
FROM shop.shop_rf_grid g
LEFT JOIN (SELECT recency_score, frequency_score, count(*) AS n FROM shop.shop_customers
		   WHERE recency_score IS NOT NULL GROUP BY 1, 2) h USING (recency_score, frequency_score);

-- every view and every column has a comment, and only plain types
SELECT count(*) FILTER (WHERE obj_description(c.oid, 'pg_class') IS NULL) AS views_without_comment
FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'shop')::regclass[]) v(oid)
JOIN pg_class c ON c.oid = v.oid;
SELECT count(*) FILTER (WHERE col_description(a.attrelid, a.attnum) IS NULL) AS columns_without_comment,
	   string_agg(DISTINCT format_type(a.atttypid, NULL), ', ') AS types
FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'shop')::regclass[]) v(oid)
JOIN pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0;
SELECT reloptions FROM pg_class WHERE oid = 'shop.shop_customers'::regclass;

-- time alone moves customers: a later analysis time
SET segment.as_of = '2025-03-01 00:00:00+00';
SELECT count(*) AS dormant_in_march FROM shop.shop_segment_dormant;
SET segment.as_of = '2025-01-01 00:00:00+00';
SELECT count(*) AS dormant_in_january FROM shop.shop_segment_dormant;

-- bad rules are reported when defined, and nothing changes
SELECT define_segment_rule('shop', 'Typo', 'cuontry = ''TR''');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Not boolean', 'age + 1');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Broken', 'age >');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Empty', '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 1', 'true); DROP TABLE shop.orders; --');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 2', 'true) FROM pg_authid --');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 3', 'true) UNION SELECT (true');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 4', 'true)) AS x, (SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 5', 'true) OR (true');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Injection 6', 'true; DROP TABLE shop.orders');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Comment only', '-- order_count > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT define_segment_rule('shop', 'Champions', 'true');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_rules VALUES ('shop', 'Direct', 'true; SELECT 1');
\echo :LAST_ERROR_SQLSTATE
-- a name full of quotes is only ever a literal and a quoted identifier
SELECT define_segment_rule('shop', $$x'; DROP TABLE shop.orders; --$$, 'order_count > 100');
SELECT count(*) AS orders_still_there FROM shop.orders;
SELECT segment FROM shop.shop_segment_summary WHERE kind = 'rule' ORDER BY segment COLLATE "C";
SELECT drop_segment_rule('shop', $$x'; DROP TABLE shop.orders; --$$);
SELECT count(*) AS rules FROM segment_rules;
-- what segment_rule_check refuses, and why: the text's own tokens must be
-- one expression, so that (text<newline>) in a view is that expression
CREATE FUNCTION pg_temp.rule_problem(expression text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	PERFORM segment_rule_check(expression);
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || detail;
END $$;
SELECT e AS expression, pg_temp.rule_problem(e) AS problem
FROM unnest(ARRAY['true) OR (true', 'true; DROP TABLE x', 'true;', '(true', 'true)', ')(',
				  '/* unterminated', 'true /* nested /* */', $$city = 'Istanbul$$, '"city', '',
				  E' \n\t', '-- a comment', '/* a comment */', E'/* one */ -- two\n',
				  $$city = ')' -- (; $$, $$"a(" /* ) */ IS NULL$$, E'true --\n;']) e;

-- comments are no part of a rule: one ending the text, one inside (with a
-- parenthesis and a semicolon in it) leave the members of the rule without
-- them, and a rule's text is spliced as it is (customer. in a literal too):
-- the members view, the segment's view and the customers view's segments
SELECT define_segment_rule('shop', 'Frequent commented', $$order_count /* at least ( eight; */ >= 8 -- eight or more$$);
SELECT define_segment_rule('shop', 'Frequent literal', $$order_count >= 8 AND 'customer.id' LIKE 'customer_id'$$);
WITH frequent AS (
	SELECT customer_id FROM shop.shop_customers WHERE order_count >= 8
), listed (source, customer_id) AS (
	SELECT 'members view ' || segment, customer_id FROM shop.shop_segment_members
	WHERE segment IN ('Frequent commented', 'Frequent literal')
	UNION ALL SELECT 'segment view commented', customer_id FROM shop.shop_segment_frequent_commented
	UNION ALL SELECT 'segment view literal', customer_id FROM shop.shop_segment_frequent_literal
	UNION ALL SELECT 'customers view ' || s, customer_id FROM shop.shop_customers, unnest(segments) s
	WHERE s IN ('Frequent commented', 'Frequent literal')
)
SELECT source, count(DISTINCT customer_id) AS members, (SELECT count(*) FROM frequent) AS by_hand,
	   count(*) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM frequent)) AS strangers
FROM listed GROUP BY source ORDER BY source;
SELECT drop_segment_rule('shop', 'Frequent commented'), drop_segment_rule('shop', 'Frequent literal');

-- bad attach calls
SELECT attach('shop', 'shop.orders', 'customer_id', 'ordered_at', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('Bad Name', 'shop.orders', 'customer_id', 'ordered_at', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.nothing', 'customer_id', 'ordered_at', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'client', 'ordered_at', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'category', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'category');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', customers => 'shop.customers');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', 'shop.customers', 'country');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', view_schema => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', map_name => 'no such map');
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', bins => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', bins => 3);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE shop.clashing (customer_id bigint, segment text);
SELECT attach('x', 'shop.orders', 'customer_id', 'ordered_at', 'amount', 'shop.clashing', 'customer_id');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attachments FROM attachments;

-- a second store in the same database: its own views, no collision
CREATE SCHEMA outlet;
CREATE TABLE outlet.sales (buyer text, sold_on date, price integer);
INSERT INTO outlet.sales VALUES ('ann', '2024-12-01', 10), ('bob', '2024-11-01', 20), ('ann', '2024-12-20', 5);
SELECT * FROM attach('outlet', 'outlet.sales', 'buyer', 'sold_on', 'price');
SELECT customer_id, order_count, total_amount, rfm, lifecycle_stage FROM outlet.outlet_customers ORDER BY 1;
SELECT count(*) AS shop_customers FROM shop.shop_customers;

-- row-level security and grants of the reader apply (security_invoker)
CREATE ROLE segment_analyst_tr;
CREATE ROLE segment_stranger;
GRANT USAGE ON SCHEMA shop TO segment_analyst_tr, segment_stranger;
GRANT SELECT ON shop.customers, shop.orders TO segment_analyst_tr;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO segment_stranger;
REVOKE SELECT ON shop.customers, shop.orders FROM segment_stranger;
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY turkey_only ON shop.customers TO segment_analyst_tr USING (country = 'TR');
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO segment_analyst_tr;
SET ROLE segment_analyst_tr;
SELECT count(*) AS customers_seen, count(*) FILTER (WHERE country <> 'TR') AS outside_turkey
FROM shop.shop_customers;
RESET ROLE;
SET ROLE segment_stranger;
SELECT count(*) FROM shop.shop_customers;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS customers_seen_by_owner FROM shop.shop_customers;
ALTER TABLE shop.customers DISABLE ROW LEVEL SECURITY;

-- building the views again (after a rule or map changes) keeps what other
-- roles were granted on them, grant options and PUBLIC included
GRANT SELECT ON shop.shop_segment_summary TO PUBLIC;
GRANT SELECT ON shop.shop_customers TO segment_stranger WITH GRANT OPTION;
CREATE VIEW pg_temp.view_grants AS
SELECT c.relname, g.grantee, g.privilege_type, g.is_grantable
FROM pg_class c, aclexplode(c.relacl) g
WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind = 'v' AND g.grantee <> c.relowner;
CREATE TEMP TABLE grants_before AS SELECT * FROM pg_temp.view_grants;
SELECT count(*) FILTER (WHERE grantee = 0) AS to_public, count(*) FILTER (WHERE is_grantable) AS with_grant_option,
	   count(DISTINCT relname) = (SELECT cardinality(views) FROM attachments WHERE attachment_name = 'shop') AS every_view
FROM grants_before;
SELECT count(*) > 0 AS rebuilt FROM rebuild_attachment_views('shop');
SELECT (SELECT count(*) FROM (SELECT * FROM grants_before EXCEPT SELECT * FROM pg_temp.view_grants) d) AS grants_lost,
	   (SELECT count(*) FROM (SELECT * FROM pg_temp.view_grants EXCEPT SELECT * FROM grants_before) d) AS grants_added;
DROP TABLE grants_before;
DROP VIEW pg_temp.view_grants;

-- detach drops the views and the rules
SELECT detach('outlet');
SELECT count(*) AS outlet_views FROM pg_views WHERE schemaname = 'outlet';
SELECT detach('outlet');
\echo :LAST_ERROR_SQLSTATE

DROP OWNED BY segment_analyst_tr, segment_stranger;
DROP ROLE segment_analyst_tr, segment_stranger;

-- segment_as_of() reads the setting again whenever what its text means may
-- have changed: another transaction ('now'), the time zone or the date
-- style (a time without a zone); unset, it is the transaction's start
RESET segment.as_of;
SELECT segment_as_of() = now() AS unset_is_now;
SET segment.as_of = 'now';
SELECT pg_sleep(0.01);
SELECT segment_as_of() = now() AS now_in_this_transaction;
SELECT pg_sleep(0.01);
SELECT segment_as_of() = now() AS now_in_the_next;
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL segment.as_of = '2025-06-01 12:00';
SELECT segment_as_of() AS utc;
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT segment_as_of() AT TIME ZONE 'UTC' AS tokyo_noon_in_utc;
SET LOCAL DateStyle = 'ISO, DMY';
SET LOCAL segment.as_of = '01/02/2025 00:00+00';
SELECT segment_as_of() AT TIME ZONE 'UTC' AS day_first;
SET LOCAL DateStyle = 'ISO, MDY';
SELECT segment_as_of() AT TIME ZONE 'UTC' AS month_first;
SET LOCAL segment.as_of = 'garbage';
SELECT segment_as_of();
ROLLBACK;
RESET segment.as_of;
