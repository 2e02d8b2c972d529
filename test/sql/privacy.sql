-- Privacy: three roles read exactly what the reference says.
--   pv_owner    owns the tables and the attachments: reads everything, maps
--               a pseudonym back to its key;
--   pv_analyst  has column grants on customers (no name, e-mail or birth
--               date) and reads the orders: reads every view of an
--               attachment that shows the columns it may read, under the
--               customers table's row-level security;
--   pv_bi       is granted the published views only: reads pseudonyms and
--               the reports, with numbers of fewer than 5 customers hidden,
--               and nothing else.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE EXTENSION IF NOT EXISTS segment;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SET TimeZone = 'UTC';
SET segment.as_of = '2026-07-01';

CREATE ROLE pv_owner;
CREATE ROLE pv_analyst;
CREATE ROLE pv_bi;
CREATE SCHEMA pv AUTHORIZATION pv_owner;
GRANT USAGE ON SCHEMA pv TO pv_analyst, pv_bi;
GRANT INSERT, UPDATE, DELETE ON attachments, segment_rules TO pv_owner;
SET ROLE pv_owner;
SET search_path = pv, public;

CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, birth_date date NOT NULL,
						city text NOT NULL);
CREATE TABLE orders (order_id serial PRIMARY KEY, customer_id integer NOT NULL, ordered_at timestamptz NOT NULL,
					 amount numeric NOT NULL);
INSERT INTO customers
SELECT g, 'Person ' || g, 'person' || g || '@example.org', date '1950-01-01' + g * 211, (ARRAY['Berlin', 'Paris', 'Rome'])[1 + g % 3]
FROM generate_series(1, 90) g;
-- customers 1 to 80 order, 1 to 6 times; 81 to 90 are prospects
INSERT INTO orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2026-01-01' + ((c * 37 + n * 11) % 180) * interval '1 day', (c * 13 + n * 7) % 200 + 5
FROM generate_series(1, 80) c, generate_series(1, 1 + c % 6) n;

-- the analyst's grants: every column of customers but the personal ones
GRANT SELECT (id, city) ON customers TO pv_analyst;
GRANT SELECT ON orders TO pv_analyst;

-- bad choices of columns
SELECT attach('pv_bad', 'orders', 'customer_id', 'ordered_at', 'amount', customer_columns => '{city}');
SELECT attach('pv_bad', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id', customer_columns => '{nope}');
SELECT attach('pv_bad', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id', customer_columns => '{city,city}');
SELECT attach('pv_bad', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id', customer_columns => '{city,NULL}');

-- all columns, as before: the analyst reads none of the views
SELECT count(*) AS views FROM attach('pv_all', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id');
-- the columns the analyst may read (the key may be listed or not)
SELECT count(*) AS views FROM attach('pv_city', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id',
									 customer_columns => '{id,city}');
SELECT define_segment_rule('pv_city', 'Berliners', $$city = 'Berlin'$$);
-- a rule over a column the views do not show is refused, and says why
SELECT define_segment_rule('pv_city', 'Example mail', $$email LIKE '%@example.org'$$);
SELECT string_agg(attname, ', ' ORDER BY attnum) AS customers_view_columns
FROM pg_attribute WHERE attrelid = 'pv_city_customers'::regclass AND attnum > 0;
-- the owner grants the analyst the views
DO $$ BEGIN EXECUTE format('GRANT SELECT ON %s TO pv_analyst',
						   (SELECT string_agg(array_to_string(views, ', '), ', ') FROM attachments
							WHERE attachment_name IN ('pv_all', 'pv_city'))); END $$;
CREATE TEMP TABLE owner_reads AS SELECT customer_id, city, order_count, total_amount, rfm, segments FROM pv_city_customers;
GRANT SELECT ON owner_reads TO pv_analyst;

SET ROLE pv_analyst;
SELECT name FROM customers LIMIT 1;
SELECT count(*) FROM pv_all_customers;
-- every view of pv_city, each with rows
SELECT count(*) AS views_read,
	   count(*) FILTER (WHERE (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', v), false, true, '')))[1]::text::int > 0)
		   AS views_with_rows
FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'pv_city')) v;
-- and what it reads is what the owner reads
SELECT count(*) AS differences FROM (
	(SELECT customer_id, city, order_count, total_amount, rfm, segments FROM pv_city_customers
	 EXCEPT ALL SELECT * FROM owner_reads)
	UNION ALL
	(SELECT * FROM owner_reads
	 EXCEPT ALL SELECT customer_id, city, order_count, total_amount, rfm, segments FROM pv_city_customers)) d;
RESET ROLE;
SET ROLE pv_owner;

-- an attribute rule over a column the views do not show is judged where
-- the tags are stored, by the owner's choice (a maintained attachment):
-- the analyst reads who meets it, never the column
SELECT count(*) AS views FROM attach('pv_tagged', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id',
									 customer_columns => '{city}');
SELECT maintain_attachment('pv_tagged');
SELECT refresh_customer_tags('pv_tagged') AS tagged;
SELECT define_segment_rule('pv_tagged', 'Born before 1980', $$birth_date < date '1980-01-01'$$);
GRANT SELECT ON pv_tagged_state, pv_tagged_tags, pv_tagged_customers, pv_tagged_segment_born_before_1980 TO pv_analyst;
SELECT count(*) AS born_before_1980 FROM customers WHERE birth_date < date '1980-01-01' \gset
SET ROLE pv_analyst;
SELECT count(*) = :born_before_1980 AS members_meet_the_rule FROM pv_tagged_segment_born_before_1980;
SELECT count(*) = :born_before_1980 AS tagged_in_customers_view
FROM pv_tagged_customers WHERE 'Born before 1980' = ANY (segments);
SELECT birth_date FROM customers LIMIT 1;
RESET ROLE;
SET ROLE pv_owner;
SELECT detach('pv_tagged');

-- row-level security on customers: the analyst sees the Berlin customers
-- only, scored among themselves
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY analyst_sees_berlin ON customers FOR SELECT TO pv_analyst USING (city = 'Berlin');
SET ROLE pv_analyst;
SELECT count(*) AS customers, count(*) FILTER (WHERE city <> 'Berlin') AS others,
	   sum(order_count) = (SELECT sum(order_count) FROM owner_reads WHERE city = 'Berlin') AS same_orders
FROM pv_city_customers;
SELECT sum(primary_customers) AS summary_customers FROM pv_city_segment_summary;
RESET ROLE;
SET ROLE pv_owner;

-- history and a campaign, read before there is a minimum
SET segment.as_of = '2026-06-15';
SELECT snapshot_segments('pv_city') > 0 AS snapshot;
SET segment.as_of = '2026-07-01';
SELECT snapshot_segments('pv_city') > 0 AS snapshot;
CREATE TABLE campaign_events (customer_id integer, campaign text, sent_at timestamptz, opened_at timestamptz);
INSERT INTO campaign_events
SELECT c, 'summer', timestamptz '2026-06-20', CASE WHEN c % 3 = 0 THEN timestamptz '2026-06-21' END
FROM generate_series(1, 60) c;
SELECT count(*) AS views FROM attach_campaigns('pv_city', 'campaign_events', 'customer_id', 'campaign', 'sent_at', 'opened_at');
CREATE TEMP TABLE sizes_open AS SELECT * FROM pv_city_segment_sizes;
CREATE TEMP TABLE campaign_open AS SELECT * FROM pv_city_campaign_performance;

-- the rule of the minimum group size, case by case: groups of 1 to 4 are
-- hidden, and while these add up to fewer than 5, the smallest other too
SELECT segment_internal.hidden_groups('{0,3,10,7,1}', 5) AS small_sum_4,
	   segment_internal.hidden_groups('{6,2,3,9}', 5) AS small_sum_5,
	   segment_internal.hidden_groups('{6,0,9}', 5) AS none_small,
	   segment_internal.hidden_groups('{1,2}', 5) AS all_small,
	   segment_internal.hidden_groups('{3,NULL}', NULL) AS no_minimum,
	   segment_internal.hidden_groups('{}', 5) AS empty;
SELECT set_minimum_group_size('pv_city', 1);
SELECT count(*) AS views FROM set_minimum_group_size('pv_city');
SELECT minimum_group_size FROM attachments WHERE attachment_name = 'pv_city';

-- the reports against counts of the customers view: a shown number is the
-- true one; no shown count is 1 to 4; what is hidden adds up to none or at
-- least 5 customers per report
CREATE TEMP VIEW grid_truth AS
SELECT r AS recency_score, f AS frequency_score, count(c.customer_id) AS customers, round(avg(c.total_amount), 2) AS mean
FROM generate_series(1, 5) r CROSS JOIN generate_series(1, 5) f
	 LEFT JOIN pv_city_customers c ON c.recency_score = r AND c.frequency_score = f
GROUP BY r, f;
SELECT count(*) FILTER (WHERE g.customers IS NULL) > 0 AS some_hidden,
	   count(*) FILTER (WHERE g.customers IS NOT NULL AND (g.customers <> t.customers OR g.average_total_amount IS DISTINCT FROM t.mean))
		   AS wrong_cells,
	   count(*) FILTER (WHERE g.customers BETWEEN 1 AND 4) AS small_shown,
	   coalesce(sum(t.customers) FILTER (WHERE g.customers IS NULL), 0) >= 5 AS hidden_at_least_5,
	   count(*) FILTER (WHERE g.customers IS NULL AND t.customers >= 5) AS hidden_for_the_total
FROM pv_city_rf_grid g JOIN grid_truth t USING (recency_score, frequency_score);
SELECT count(*) FILTER (WHERE s.customers IS NULL) > 0 AS some_hidden,
	   count(*) FILTER (WHERE s.customers IS NOT NULL AND s.customers <> t.n) AS wrong_stages,
	   count(*) FILTER (WHERE s.customers BETWEEN 1 AND 4) AS small_shown,
	   coalesce(sum(t.n) FILTER (WHERE s.customers IS NULL), 0) IN (0) OR coalesce(sum(t.n) FILTER (WHERE s.customers IS NULL), 0) >= 5
		   AS hidden_none_or_at_least_5
FROM pv_city_lifecycle_summary s
	 JOIN (SELECT lifecycle_stage, count(*) AS n FROM pv_city_customers GROUP BY 1) t USING (lifecycle_stage);
-- the summary: shown numbers are the true ones; none counts 1 to 4, nor do
-- a segment's members less its primary customers where both show; the
-- primary rows hidden add up to none or at least 5
SELECT count(*) FILTER (WHERE s.primary_customers IS NULL AND s.kind <> 'rule'
						   OR s.member_customers IS NULL AND s.kind <> 'unsegmented') > 0 AS some_hidden,
	   count(*) FILTER (WHERE s.primary_customers <> t.primary_n OR s.member_customers <> t.member_n) AS wrong_rows,
	   count(*) FILTER (WHERE s.primary_customers BETWEEN 1 AND 4 OR s.member_customers BETWEEN 1 AND 4
						   OR s.kind = 'rfm' AND s.member_customers - s.primary_customers BETWEEN 1 AND 4) AS small_shown,
	   coalesce(sum(t.primary_n) FILTER (WHERE s.primary_customers IS NULL AND s.kind <> 'rule'), 0) NOT BETWEEN 1 AND 4
		   AS hidden_primary_none_or_at_least_5
FROM pv_city_segment_summary s
	 LEFT JOIN (SELECT segment, count(*) AS primary_n FROM pv_city_customers GROUP BY 1) p ON p.segment IS NOT DISTINCT FROM s.segment
	 LEFT JOIN (SELECT m AS segment, count(*) AS member_n FROM pv_city_customers, unnest(segments) m GROUP BY 1) m ON m.segment = s.segment
	 CROSS JOIN LATERAL (SELECT CASE WHEN s.kind <> 'rule' THEN coalesce(p.primary_n, 0) END AS primary_n,
								CASE WHEN s.kind <> 'unsegmented' THEN coalesce(m.member_n, 0) END AS member_n) t;

-- segment sizes and campaign performance: a count is hidden exactly when
-- it is 1 to 4, a campaign row of too few recipients shows nothing
SELECT count(*) FILTER (WHERE s.members IS NULL OR s.entered IS NULL OR s."left" IS NULL) > 0 AS some_hidden,
	   count(*) FILTER (WHERE NOT (s.members IS NOT DISTINCT FROM o.members OR (s.members IS NULL AND o.members BETWEEN 1 AND 4))
						   OR NOT (s.entered IS NOT DISTINCT FROM o.entered OR (s.entered IS NULL AND o.entered BETWEEN 1 AND 4))
						   OR NOT (s."left" IS NOT DISTINCT FROM o."left" OR (s."left" IS NULL AND o."left" BETWEEN 1 AND 4)))
		   AS wrong
FROM pv_city_segment_sizes s JOIN sizes_open o USING (segment, kind, day);
SELECT count(*) FILTER (WHERE c.recipients IS NULL) > 0 AS some_hidden,
	   count(*) FILTER (WHERE c.recipients IS NULL AND num_nonnulls(c.unique_opens, c.open_rate, c.orders, c.revenue) > 0)
		   AS hidden_rows_showing,
	   count(*) FILTER (WHERE NOT (c.recipients IS NOT DISTINCT FROM o.recipients OR (c.recipients IS NULL AND o.recipients BETWEEN 1 AND 4))
						   OR (c.recipients IS NOT NULL AND NOT (c.unique_opens IS NOT DISTINCT FROM o.unique_opens
															   OR (c.unique_opens IS NULL AND o.unique_opens BETWEEN 1 AND 4))))
		   AS wrong
FROM pv_city_campaign_performance c JOIN campaign_open o ON o.campaign = c.campaign AND o.kind = c.kind
	 AND o.segment IS NOT DISTINCT FROM c.segment;

-- published views: not without a minimum, nor with every column shown
SELECT publish_views('pv_all');
SELECT count(*) AS views FROM set_minimum_group_size('pv_all');
SELECT publish_views('pv_all');
-- the schema's default privileges would grant the secret: they are undone
ALTER DEFAULT PRIVILEGES IN SCHEMA pv GRANT SELECT ON TABLES TO pv_bi;
SELECT count(*) AS views FROM publish_views('pv_city');
ALTER DEFAULT PRIVILEGES IN SCHEMA pv REVOKE SELECT ON TABLES FROM pv_bi;
SELECT has_table_privilege('pv_bi', 'pv_city_pseudonym_secret', 'SELECT') AS bi_reads_secret;
-- and a grant of it stops every rebuild until revoked
GRANT SELECT ON pv_city_pseudonym_secret TO pv_analyst;
SELECT count(*) AS views FROM rebuild_attachment_views('pv_city');
REVOKE SELECT ON pv_city_pseudonym_secret FROM pv_analyst;
-- published reports keep their minimum
SELECT set_minimum_group_size('pv_city', NULL);
SELECT v FROM unnest((SELECT views FROM attachments WHERE attachment_name = 'pv_city')) v WHERE v LIKE '%published%';
GRANT SELECT ON pv_city_published_customers, pv_city_published_segment_summary, pv_city_published_lifecycle_summary,
	pv_city_published_rf_grid TO pv_bi;
SELECT string_agg(attname, ', ' ORDER BY attnum) AS published_columns
FROM pg_attribute WHERE attrelid = 'pv_city_published_customers'::regclass AND attnum > 0;
-- the pseudonyms are HMAC-SHA-256 of the key under the secret, computed
-- here apart
CREATE TEMP TABLE pseudonyms AS
SELECT c.id, encode(hmac(convert_to(c.id::text, 'UTF8'), s.secret, 'sha256'), 'hex') AS pseudonym
FROM customers c, pv_city_pseudonym_secret s;
SELECT count(*) AS customers, count(DISTINCT p.customer_pseudonym) AS pseudonyms,
	   count(*) FILTER (WHERE p.customer_pseudonym !~ '^[0-9a-f]{64}$') AS malformed,
	   count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM pseudonyms x JOIN pv_city_customers c ON c.customer_id = x.id
										  WHERE x.pseudonym = p.customer_pseudonym
											AND (c.city, c.order_count, c.total_amount, c.rfm, c.segments)
												IS NOT DISTINCT FROM (p.city, p.order_count, p.total_amount, p.rfm, p.segments)))
		   AS unmatched
FROM pv_city_published_customers p;
SELECT customer_for_pseudonym('pv_city', (SELECT pseudonym FROM pseudonyms WHERE id = 42)) AS key_42,
	   customer_for_pseudonym('pv_city', upper((SELECT pseudonym FROM pseudonyms WHERE id = 85))) AS prospect_85,
	   customer_for_pseudonym('pv_city', 'feed') AS unknown;
CREATE TEMP TABLE published_grid AS SELECT * FROM pv_city_rf_grid;

SET ROLE pv_bi;
SELECT count(*) AS customers, count(*) FILTER (WHERE city <> 'Berlin') AS beyond_berlin FROM pv_city_published_customers;
SELECT sum(customers) IS NOT NULL AS grid_read, count(*) FILTER (WHERE customers BETWEEN 1 AND 4) AS small_shown
FROM pv_city_published_rf_grid;
SELECT count(*) AS stages FROM pv_city_published_lifecycle_summary;
SELECT count(*) FILTER (WHERE primary_customers BETWEEN 1 AND 4 OR member_customers BETWEEN 1 AND 4) AS small_shown
FROM pv_city_published_segment_summary;
-- nothing else
SELECT count(*) FROM pv_city_customers;
SELECT count(*) FROM pv_city_segment_summary;
SELECT count(*) FROM pv_city_published_segment_members;
SELECT secret FROM pv_city_pseudonym_secret;
SELECT count(*) FROM customers;
SELECT count(*) FROM orders;
SELECT customer_for_pseudonym('pv_city', 'feed');
RESET ROLE;
SET ROLE pv_owner;
SELECT count(*) AS differences FROM (
	(SELECT * FROM pv_city_published_rf_grid EXCEPT SELECT * FROM published_grid)
	UNION ALL (SELECT * FROM published_grid EXCEPT SELECT * FROM pv_city_published_rf_grid)) d;

-- the pseudonyms stay while published: after a rebuild and a new minimum
SELECT count(*) AS views FROM rebuild_attachment_views('pv_city');
SELECT count(*) AS views FROM set_minimum_group_size('pv_city', 10);
SELECT count(*) AS changed FROM pv_city_published_customers p
WHERE p.customer_pseudonym NOT IN (SELECT pseudonym FROM pseudonyms);
SELECT count(*) FILTER (WHERE customers BETWEEN 1 AND 9) AS small_shown FROM pv_city_published_rf_grid;
-- the analyst reads the same minimum in its own views
SET ROLE pv_analyst;
SELECT count(*) FILTER (WHERE customers BETWEEN 1 AND 9) AS small_shown FROM pv_city_rf_grid;
RESET ROLE;
SET ROLE pv_owner;

-- a maintained attachment, published: the BI reader reads what the
-- owner's customers view shows, pseudonyms aside, though the policy of
-- attachments hides the attachment from it
SELECT count(*) AS views FROM attach('pv_kept', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'id',
									 customer_columns => '{city}');
SELECT maintain_attachment('pv_kept');
SELECT count(*) AS views FROM set_minimum_group_size('pv_kept');
SELECT count(*) AS views FROM publish_views('pv_kept');
GRANT SELECT ON pv_kept_published_customers, pv_kept_published_rf_grid TO pv_bi;
CREATE TEMP TABLE kept_owner AS
SELECT city, order_count, total_amount, rfm, segments, lifecycle_stage FROM pv_kept_customers;
CREATE TEMP TABLE kept_grid AS SELECT * FROM pv_kept_rf_grid;
GRANT SELECT ON kept_owner, kept_grid TO pv_bi;
SET ROLE pv_bi;
-- its own segment.as_of does not move the published views
SET segment.as_of = '2026-03-01';
SELECT count(*) AS differences FROM (
	(SELECT city, order_count, total_amount, rfm, segments, lifecycle_stage FROM pv_kept_published_customers
	 EXCEPT ALL SELECT * FROM kept_owner)
	UNION ALL
	(SELECT * FROM kept_owner
	 EXCEPT ALL SELECT city, order_count, total_amount, rfm, segments, lifecycle_stage FROM pv_kept_published_customers)) d;
SELECT count(*) AS differences FROM (
	(SELECT * FROM pv_kept_published_rf_grid EXCEPT SELECT * FROM kept_grid)
	UNION ALL (SELECT * FROM kept_grid EXCEPT SELECT * FROM pv_kept_published_rf_grid)) d;
SET segment.as_of = '2026-07-01';
RESET ROLE;
SET ROLE pv_owner;
-- new thresholds reach the published views
INSERT INTO orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2026-06-30', 500 FROM generate_series(1, 30) c;
SELECT refresh_attachment_thresholds('pv_kept') IS NOT NULL AS refreshed;
SELECT count(*) AS differences FROM (
	(SELECT city, order_count, total_amount, population_average_order_value, rfm, segments, lifecycle_stage
	 FROM pv_kept_published_customers
	 EXCEPT ALL
	 SELECT city, order_count, total_amount, population_average_order_value, rfm, segments, lifecycle_stage
	 FROM pv_kept_customers)
	UNION ALL
	(SELECT city, order_count, total_amount, population_average_order_value, rfm, segments, lifecycle_stage
	 FROM pv_kept_customers
	 EXCEPT ALL
	 SELECT city, order_count, total_amount, population_average_order_value, rfm, segments, lifecycle_stage
	 FROM pv_kept_published_customers)) d;
SELECT detach('pv_kept');

-- withdrawn: the views and the secret go
DROP VIEW grid_truth;
SELECT count(*) AS views FROM publish_views('pv_city', false);
SELECT to_regclass('pv.pv_city_published_customers') AS published, to_regclass('pv.pv_city_pseudonym_secret') AS secret;
SELECT count(*) AS views FROM publish_views('pv_city');
SELECT detach('pv_city');
SELECT to_regclass('pv.pv_city_pseudonym_secret') AS secret_after_detach;
SELECT detach('pv_all');
RESET ROLE;
DROP SCHEMA pv CASCADE;
REVOKE ALL ON attachments, segment_rules FROM pv_owner;
DROP OWNED BY pv_owner, pv_analyst, pv_bi;
DROP ROLE pv_owner;
DROP ROLE pv_analyst;
DROP ROLE pv_bi;
