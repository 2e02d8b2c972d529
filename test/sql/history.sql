-- Segment history.  The exactness test: months of random writes to a
-- maintained attachment (orders inserted, two at once, deleted; customers
-- moving city; refresh_due_segments() now and then; a refresh of the
-- thresholds), each transaction at its own analysis time, then for random
-- instants D and every segment, segment_members_at(a, S, D) against an
-- oracle computed again from a log of what was written: RFM segments from
-- rfm_score() against the thresholds stored at D, lifecycle stages from an
-- unmaintained attachment of the same orders read at D, the rule from the
-- city each customer had at D.  Then the transition matrix against two
-- such reads, snapshots of an unmaintained attachment, the sizes view,
-- retention and the errors.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS segment;
CREATE SCHEMA hist;
SET search_path = hist, public;
SET TimeZone = 'UTC';

CREATE TABLE orders (id integer PRIMARY KEY, customer integer NOT NULL, at timestamptz NOT NULL,
					 amount numeric NOT NULL);
CREATE INDEX ON orders (customer);
CREATE TABLE customers (id integer PRIMARY KEY, city text NOT NULL);

-- what the test will write, and when: the oracle reads this log
CREATE TABLE order_log (id integer, customer integer, at timestamptz, amount numeric, deleted_at timestamptz);
CREATE TABLE city_log (id integer, city text, since timestamptz);
CREATE TABLE thresholds_log (since timestamptz, thresholds rfm_thresholds);
CREATE TABLE script (at timestamptz, seq integer, statement text);

SELECT setseed(0.42);
-- before the history starts: January's orders of customers 1 to 60, and 80 customers
INSERT INTO customers SELECT c, (ARRAY['Istanbul', 'Berlin', 'Paris'])[1 + floor(random() * 3)::int]
FROM generate_series(1, 80) c;
INSERT INTO city_log SELECT id, city, '-infinity' FROM customers;
INSERT INTO order_log
SELECT n, 1 + (n % 60), '2025-01-01'::timestamptz + random() * interval '31 days', round((5 + random() * 200)::numeric, 2), NULL
FROM generate_series(1, 150) n;
INSERT INTO orders SELECT id, customer, at, amount FROM order_log;

-- February to August: the writes, each with its analysis time
DO $$
DECLARE
	t timestamptz := '2025-02-01 00:00:01';
	next_id integer := 1000;
	victim integer;
	seq integer := 0;
	c integer;
BEGIN
	WHILE t < '2025-09-01' LOOP
		t := t + random() * interval '20 hours';
		seq := seq + 1;
		IF random() < 0.70 THEN
			-- an order (sometimes two, of two customers, in one transaction)
			next_id := next_id + 1;
			c := 1 + floor(random() * 80)::int;
			INSERT INTO order_log VALUES (next_id, c, t, round((5 + random() * 200)::numeric, 2), NULL);
			IF random() < 0.2 THEN
				next_id := next_id + 1;
				INSERT INTO order_log VALUES (next_id, 1 + (c + 7) % 80, t, round((5 + random() * 200)::numeric, 2), NULL);
				INSERT INTO script SELECT t, seq, format('INSERT INTO hist.orders VALUES (%s, %s, %L, %s), (%s, %s, %L, %s)',
					a.id, a.customer, a.at, a.amount, b.id, b.customer, b.at, b.amount)
				FROM order_log a, order_log b WHERE a.id = next_id - 1 AND b.id = next_id;
			ELSE
				INSERT INTO script SELECT t, seq, format('INSERT INTO hist.orders VALUES (%s, %s, %L, %s)', id, customer, at, amount)
				FROM order_log WHERE id = next_id;
			END IF;
		ELSIF random() < 0.4 THEN
			-- an order deleted: its customer is derived again
			SELECT id INTO victim FROM order_log WHERE deleted_at IS NULL ORDER BY random() LIMIT 1;
			UPDATE order_log SET deleted_at = t WHERE id = victim;
			INSERT INTO script VALUES (t, seq, format('DELETE FROM hist.orders WHERE id = %s', victim));
		ELSIF random() < 0.6 THEN
			-- a customer moves: the rule segment follows
			c := 1 + floor(random() * 80)::int;
			INSERT INTO city_log VALUES (c, (ARRAY['Istanbul', 'Berlin', 'Paris'])[1 + floor(random() * 3)::int], t);
			INSERT INTO script SELECT t, seq, format('UPDATE hist.customers SET city = %L WHERE id = %s', city, id)
			FROM city_log WHERE since = t;
		ELSE
			-- the moves time alone made are written
			INSERT INTO script VALUES (t, seq, 'DO $do$ BEGIN PERFORM refresh_due_segments(''hm''); END $do$');
		END IF;
	END LOOP;
END $$;
-- random instants; at each, the lifecycle stages the unmaintained
-- attachment gives when read then
CREATE TABLE instants AS
SELECT '2025-02-01'::timestamptz + random() * interval '212 days' AS d FROM generate_series(1, 40);
CREATE TABLE unmaintained_stages (d timestamptz, customer_id text, stage text);
INSERT INTO script SELECT d, 0, format('INSERT INTO hist.unmaintained_stages SELECT %L, c.customer_id::text, c.lifecycle_stage '
									   'FROM hist.hu_customers c WHERE c.order_count > 0', d)
FROM instants;
-- snapshots of the unmaintained attachment, and what its customers view
-- showed when each was taken
CREATE TABLE snapshot_truth (taken_at timestamptz, customer_id text, kind text, segment text);
INSERT INTO script
SELECT t, 0, format('DO $do$ BEGIN PERFORM snapshot_segments(''hu''); END $do$; '
					'INSERT INTO hist.snapshot_truth SELECT %1$L, c.customer_id::text, m.kind, m.segment FROM hist.hu_customers c, '
					'LATERAL (SELECT CASE WHEN s = ''Istanbul'' THEN ''rule'' ELSE ''rfm'' END, s FROM unnest(c.segments) s '
					'UNION ALL SELECT ''lifecycle'', c.lifecycle_stage WHERE c.lifecycle_stage <> ''prospect'') m(kind, segment)', t)
FROM (SELECT '2025-02-03'::timestamptz + n * interval '17 days' + random() * interval '1 day' AS t
	  FROM generate_series(0, 11) n) x;
-- new thresholds on the first of May
INSERT INTO script VALUES ('2025-05-01 12:00', 0,
	'DO $do$ BEGIN PERFORM refresh_attachment_thresholds(''hm''); END $do$; '
	'INSERT INTO hist.thresholds_log SELECT ''2025-05-01 12:00'', thresholds FROM attachments WHERE attachment_name = ''hm''');
SELECT count(*) > 400 AS writes, count(DISTINCT at) = count(*) AS distinct_times FROM script;

SELECT count(*) > 0 FROM attach('hm', 'hist.orders', 'customer', 'at', 'amount', 'hist.customers', 'id');
SELECT count(*) > 0 FROM define_segment_rule('hm', 'Istanbul', $$city = 'Istanbul'$$);
SELECT count(*) > 0 FROM attach('hu', 'hist.orders', 'customer', 'at', 'amount', 'hist.customers', 'id');
SELECT count(*) > 0 FROM define_segment_rule('hu', 'Istanbul', $$city = 'Istanbul'$$);
SET segment.as_of = '2025-02-01';
SELECT maintain_attachment('hm');
INSERT INTO thresholds_log SELECT '-infinity', thresholds FROM attachments WHERE attachment_name = 'hm';
SELECT history_table, history_since, history_retention FROM attachments WHERE attachment_name = 'hm';

-- every write its own transaction, at its own analysis time (not echoed)
\set ECHO none
SELECT format('SET segment.as_of = %L', at), statement FROM script ORDER BY at, seq \gexec
\set ECHO all
SET segment.as_of = '2025-09-01';

-- the oracle: every membership at an instant, from the logs
CREATE FUNCTION oracle_at(d timestamptz) RETURNS TABLE (customer_id text, kind text, segment text)
LANGUAGE sql AS $$
	WITH stats AS (
		SELECT o.customer, rfm_stats(o.at, o.amount) AS stats FROM order_log o
		WHERE o.at <= d AND (o.deleted_at IS NULL OR o.deleted_at > d) GROUP BY o.customer
	), thresholds AS (
		SELECT t.thresholds FROM thresholds_log t WHERE t.since <= d ORDER BY t.since DESC LIMIT 1
	)
	SELECT s.customer::text, 'rfm', unnest(segment_memberships(rfm_score(s.stats, d, t.thresholds)))
	FROM stats s, thresholds t
	UNION ALL
	SELECT s.customer::text, 'lifecycle', lifecycle_stage(s.stats, d) FROM stats s
	UNION ALL
	SELECT c.id::text, 'rule', 'Istanbul' FROM (
		SELECT DISTINCT ON (l.id) l.id, l.city FROM city_log l WHERE l.since <= d ORDER BY l.id, l.since DESC) c
	WHERE c.city = 'Istanbul' $$;

-- every segment any instant has, by history and by oracle
CREATE TABLE compared AS
SELECT i.d, s.segment, m.customer_id, m.kind, 'history' AS source
FROM instants i, (SELECT DISTINCT segment FROM hm_history) s, segment_members_at('hm', s.segment, i.d) m
UNION ALL
SELECT i.d, o.segment, o.customer_id, o.kind, 'oracle' FROM instants i, oracle_at(i.d) o;
SELECT kind, count(*) FILTER (WHERE source = 'oracle') AS memberships_compared,
	   count(DISTINCT segment) AS segments
FROM compared GROUP BY kind ORDER BY kind;
-- 0 differences, both ways
SELECT count(*) AS history_not_oracle FROM (
	SELECT d, segment, customer_id, kind FROM compared WHERE source = 'history'
	EXCEPT ALL SELECT d, segment, customer_id, kind FROM compared WHERE source = 'oracle') x;
SELECT count(*) AS oracle_not_history FROM (
	SELECT d, segment, customer_id, kind FROM compared WHERE source = 'oracle'
	EXCEPT ALL SELECT d, segment, customer_id, kind FROM compared WHERE source = 'history') x;
SELECT count(*) AS unmaintained_stage_differences FROM (
	(SELECT d, customer_id, stage FROM unmaintained_stages
	 EXCEPT ALL SELECT d, customer_id, segment FROM compared WHERE source = 'history' AND kind = 'lifecycle')
	UNION ALL
	(SELECT d, customer_id, segment FROM compared WHERE source = 'history' AND kind = 'lifecycle'
	 EXCEPT ALL SELECT d, customer_id, stage FROM unmaintained_stages)) x;
-- time alone moved customers, and those moves were dated between writes
SELECT count(*) > 20 AS moves_by_time FROM hm_history h
WHERE h.kind = 'lifecycle' AND h.entered_at NOT IN (SELECT at FROM script) AND h.entered_at > '2025-02-01';

-- the transition matrix between two instants, against the oracle's primary segments
CREATE FUNCTION oracle_primary(d timestamptz) RETURNS TABLE (customer_id text, segment text)
LANGUAGE sql AS $$
	WITH stats AS (
		SELECT o.customer, rfm_stats(o.at, o.amount) AS stats FROM order_log o
		WHERE o.at <= d AND (o.deleted_at IS NULL OR o.deleted_at > d) GROUP BY o.customer
	)
	SELECT s.customer::text, segment_assign(rfm_score(s.stats, d,
		(SELECT t.thresholds FROM thresholds_log t WHERE t.since <= d ORDER BY t.since DESC LIMIT 1)))
	FROM stats s $$;
CREATE TABLE pairs AS
SELECT a.d AS from_time, b.d AS to_time FROM instants a, instants b WHERE a.d < b.d ORDER BY random() LIMIT 8;
CREATE TABLE transitions AS
SELECT p.from_time, p.to_time, t.from_segment, t.to_segment, t.customers, 'history' AS source
FROM pairs p, segment_transitions('hm', p.from_time, p.to_time) t
UNION ALL
SELECT p.from_time, p.to_time, x.from_segment, x.to_segment, count(*), 'oracle'
FROM pairs p,
	 LATERAL (SELECT f.segment AS from_segment, t.segment AS to_segment
			  FROM oracle_primary(p.from_time) f FULL JOIN oracle_primary(p.to_time) t USING (customer_id)) x
GROUP BY 1, 2, 3, 4;
SELECT sum(customers) FILTER (WHERE source = 'oracle') > 300 AS customers_compared,
	   count(*) FILTER (WHERE source = 'oracle' AND from_segment IS NULL) > 0 AS with_entering,
	   count(*) FILTER (WHERE source = 'oracle' AND from_segment IS DISTINCT FROM to_segment) > 8 AS with_moves
FROM transitions;
SELECT count(*) AS transition_differences FROM (
	(SELECT from_time, to_time, from_segment, to_segment, customers FROM transitions WHERE source = 'history'
	 EXCEPT ALL SELECT from_time, to_time, from_segment, to_segment, customers FROM transitions WHERE source = 'oracle')
	UNION ALL
	(SELECT from_time, to_time, from_segment, to_segment, customers FROM transitions WHERE source = 'oracle'
	 EXCEPT ALL SELECT from_time, to_time, from_segment, to_segment, customers FROM transitions WHERE source = 'history')) x;

-- an unmaintained attachment answers from its snapshots: as of the last
-- one at or before the instant, which a notice names
SELECT cardinality(history_snapshots) AS snapshots, history_snapshots[1] = history_since AS history_starts_with_first
FROM attachments WHERE attachment_name = 'hu';
SET client_min_messages = notice;
SELECT count(*) FROM segment_members_at('hu', 'active', '2025-03-10');
SET client_min_messages = warning;
CREATE TABLE snapshot_compared AS
SELECT i.d, s.segment, m.customer_id, m.kind, 'history' AS source
FROM instants i, (SELECT DISTINCT segment FROM hu_history) s, segment_members_at('hu', s.segment, i.d) m
WHERE i.d >= (SELECT history_since FROM attachments WHERE attachment_name = 'hu')
UNION ALL
SELECT i.d, t.segment, t.customer_id, t.kind, 'snapshot'
FROM instants i JOIN snapshot_truth t
	 ON t.taken_at = (SELECT max(x.taken_at) FROM snapshot_truth x WHERE x.taken_at <= i.d);
SELECT count(*) FILTER (WHERE source = 'snapshot') > 1000 AS compared,
	   count(*) FILTER (WHERE source = 'history') - count(*) FILTER (WHERE source = 'snapshot') AS count_difference
FROM snapshot_compared;
SELECT count(*) AS snapshot_differences FROM (
	(SELECT d, segment, customer_id, kind FROM snapshot_compared WHERE source = 'history'
	 EXCEPT ALL SELECT d, segment, customer_id, kind FROM snapshot_compared WHERE source = 'snapshot')
	UNION ALL
	(SELECT d, segment, customer_id, kind FROM snapshot_compared WHERE source = 'snapshot'
	 EXCEPT ALL SELECT d, segment, customer_id, kind FROM snapshot_compared WHERE source = 'history')) x;

-- the sizes view, once every move is written: members at the end of each
-- day against the oracle at that instant, entered and left against the
-- intervals
SELECT refresh_due_segments('hm') >= 0;
CREATE TABLE days AS
SELECT d::date AS day FROM generate_series('2025-02-01'::date, '2025-08-31', '1 day') d ORDER BY random() LIMIT 25;
CREATE TABLE sizes_compared AS
SELECT day, kind, segment, s.members AS view_members, coalesce(o.members, 0) AS oracle_members
FROM (SELECT * FROM hm_segment_sizes WHERE day IN (SELECT day FROM days)) s
FULL JOIN (SELECT d.day, o.kind, o.segment, count(*) AS members
		   FROM days d, oracle_at(d.day + 1 - interval '1 microsecond') o GROUP BY 1, 2, 3) o USING (day, kind, segment);
SELECT count(*) FILTER (WHERE view_members IS DISTINCT FROM oracle_members) AS size_differences,
	   sum(oracle_members) > 1000 AS compared
FROM sizes_compared;
SELECT count(*) AS entered_left_differences FROM hm_segment_sizes s
WHERE s.entered <> (SELECT count(*) FROM hm_history h WHERE h.kind = s.kind AND h.segment = s.segment
					AND h.entered_at >= s.day AND h.entered_at < s.day + 1)
   OR s."left" <> (SELECT count(*) FROM hm_history h WHERE h.kind = s.kind AND h.segment = s.segment
				   AND h.left_at >= s.day AND h.left_at < s.day + 1);
SELECT min(day), max(day), count(DISTINCT segment) FROM hm_segment_sizes;

-- campaigns, measured per segment the recipients were in when each was
-- sent, against the same oracle: three campaigns, each sent at its own
-- instant to a random 60% of the customers, with opens, clicks and
-- conversions (some outside the 5-day window)
CREATE TABLE campaign_events (customer integer, campaign text, sent_at timestamptz, opened_at timestamptz,
							  clicked_at timestamptz, converted_at timestamptz);
INSERT INTO campaign_events
SELECT c, x.campaign, x.sent_at,
	   CASE WHEN o THEN x.sent_at + random() * interval '30 hours' END,
	   CASE WHEN o AND random() < 0.4 THEN x.sent_at + interval '31 hours' + random() * interval '1 day' END,
	   CASE WHEN random() < 0.25 THEN x.sent_at + random() * interval '8 days' END
FROM (VALUES ('March news', '2025-03-11 09:30:00.5'::timestamptz), ('May sale', '2025-05-20 16:00:00.5'),
			 ('July reminder', '2025-07-02 08:15:00.5')) x(campaign, sent_at),
	 generate_series(1, 80) c, LATERAL (SELECT random() < 0.5 + 0 * c AS o) r
WHERE random() < 0.6;
-- a second message of a campaign to some: the first one counts
INSERT INTO campaign_events
SELECT customer, campaign, sent_at + interval '1 day', NULL, NULL, NULL FROM campaign_events WHERE customer % 7 = 0;
SELECT v FROM attach_campaigns('hm', 'hist.campaign_events', 'customer', 'campaign', 'sent_at',
									  'opened_at', 'clicked_at', 'converted_at') v WHERE v LIKE '%campaign%';
CREATE FUNCTION campaign_oracle(with_conversions boolean)
RETURNS TABLE (campaign text, segment text, kind text, recipients bigint, unique_opens bigint, open_rate numeric,
			   unique_clicks bigint, click_rate numeric, click_to_open_rate numeric, conversions bigint,
			   conversion_rate numeric, orders numeric, revenue numeric, average_order_value numeric,
			   revenue_per_recipient numeric)
LANGUAGE sql AS $$
	WITH r AS (
		SELECT e.customer, e.campaign, min(e.sent_at) AS sent_at, min(e.opened_at) AS opened_at,
			   min(e.clicked_at) AS clicked_at, min(e.converted_at) AS converted_at
		FROM campaign_events e GROUP BY 1, 2
	), bought AS (
		SELECT r.customer, r.campaign, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS revenue
		FROM r LEFT JOIN order_log o ON o.customer = r.customer AND o.deleted_at IS NULL
			 AND o.at >= r.sent_at AND o.at < r.sent_at + interval '5 days'
		GROUP BY 1, 2
	), m AS (
		SELECT r.*, b.orders, b.revenue, o.kind, o.segment,
			   CASE WHEN with_conversions THEN r.converted_at >= r.sent_at AND r.converted_at < r.sent_at + interval '5 days'
					ELSE b.orders > 0 END AS converted
		FROM r JOIN bought b USING (customer, campaign)
			 LEFT JOIN LATERAL (SELECT * FROM oracle_at(r.sent_at) o WHERE o.customer_id = r.customer::text) o ON true
	)
	SELECT campaign, segment, kind, count(*), count(opened_at), count(opened_at)::numeric / count(*),
		   count(clicked_at), count(clicked_at)::numeric / count(*), count(clicked_at)::numeric / nullif(count(opened_at), 0),
		   count(*) FILTER (WHERE converted), count(*) FILTER (WHERE converted)::numeric / count(*),
		   sum(orders), sum(revenue), sum(revenue) / nullif(sum(orders), 0), sum(revenue) / count(*)
	FROM m GROUP BY campaign, kind, segment $$;
CREATE FUNCTION campaign_differences(with_conversions boolean) RETURNS TABLE (rows bigint, differences bigint)
LANGUAGE sql AS $$
	WITH v AS (SELECT campaign, segment, kind, recipients, unique_opens, round(open_rate, 12), unique_clicks,
					  round(click_rate, 12), round(click_to_open_rate, 12), conversions, round(conversion_rate, 12),
					  orders, revenue, round(average_order_value, 12), round(revenue_per_recipient, 12)
			   FROM hm_campaign_performance),
		 o AS (SELECT campaign, segment, kind, recipients, unique_opens, round(open_rate, 12), unique_clicks,
					  round(click_rate, 12), round(click_to_open_rate, 12), conversions, round(conversion_rate, 12),
					  orders, revenue, round(average_order_value, 12), round(revenue_per_recipient, 12)
			   FROM campaign_oracle(with_conversions))
	SELECT (SELECT count(*) FROM o),
		   (SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT * FROM o) UNION ALL (SELECT * FROM o EXCEPT ALL SELECT * FROM v)) d) $$;
SELECT * FROM campaign_differences(true);
-- customers who were in other segments for two campaigns, and rows with
-- opens, clicks, conversions and revenue
SELECT count(*) > 5 AS moved_between_campaigns
FROM (SELECT customer_id, array_agg(segment ORDER BY segment) AS segments FROM oracle_at('2025-03-11 09:30:00.5')
	  WHERE kind = 'rfm' GROUP BY 1) x
JOIN (SELECT customer_id, array_agg(segment ORDER BY segment) AS segments FROM oracle_at('2025-05-20 16:00:00.5')
	  WHERE kind = 'rfm' GROUP BY 1) y USING (customer_id)
WHERE x.segments <> y.segments;
SELECT count(*) FILTER (WHERE unique_clicks > 0) > 10 AS clicked, count(*) FILTER (WHERE conversions > 0) > 10 AS converted,
	   count(*) FILTER (WHERE revenue > 0) > 10 AS bought, count(*) FILTER (WHERE segment IS NULL) AS no_segment_rows
FROM hm_campaign_performance;
SELECT campaign, kind, segment, recipients, unique_opens, round(open_rate, 3) AS open_rate, conversions, revenue
FROM hm_campaign_performance WHERE segment IN ('Champions', 'Istanbul') ORDER BY campaign, segment;
-- without a conversion column, a conversion is an order in the window
SELECT count(*) FILTER (WHERE v LIKE '%campaign%') AS campaign_views FROM detach_campaigns('hm') v;
SELECT v FROM attach_campaigns('hm', 'hist.campaign_events', 'customer', 'campaign', 'sent_at',
							   'opened_at', 'clicked_at') v WHERE v LIKE '%campaign%';
SELECT * FROM campaign_differences(false);
-- bad bindings
\set VERBOSITY sqlstate
SELECT attach_campaigns('hm', 'hist.campaign_events', 'customer', 'campaign', 'nope');
SELECT attach_campaigns('hm', 'hist.campaign_events', 'campaign', 'campaign', 'sent_at');
SELECT attach_campaigns('hm', 'hist.campaign_events', 'customer', 'campaign', 'campaign');
SELECT attach_campaigns('hm', 'hist.campaign_events', 'customer', 'campaign', 'sent_at', attribution_window => '0');
SELECT attach_campaigns('hu_missing', 'hist.campaign_events', 'customer', 'campaign', 'sent_at');
\set VERBOSITY default

-- retention: intervals that ended 60 days before the analysis time go, and
-- the history answers from then on, as exactly
SELECT keep_segment_history('hm', '60 days');
SELECT history_since, history_retention FROM attachments WHERE attachment_name = 'hm';
SELECT count(*) AS kept_ended_before_horizon FROM hm_history WHERE left_at <= '2025-07-03';
SELECT count(*) AS differences_after_horizon FROM (
	(SELECT i.d, m.customer_id, m.kind, s.segment FROM instants i, (SELECT DISTINCT segment FROM hm_history) s,
		 segment_members_at('hm', s.segment, i.d) m WHERE i.d >= '2025-07-03'
	 EXCEPT ALL SELECT d, customer_id, kind, segment FROM compared WHERE source = 'oracle' AND d >= '2025-07-03')
	UNION ALL
	(SELECT d, customer_id, kind, segment FROM compared WHERE source = 'oracle' AND d >= '2025-07-03'
	 EXCEPT ALL SELECT i.d, m.customer_id, m.kind, s.segment FROM instants i, (SELECT DISTINCT segment FROM hm_history) s,
		 segment_members_at('hm', s.segment, i.d) m WHERE i.d >= '2025-07-03')) x;
SELECT min(day) FROM hm_segment_sizes;

-- the sizes after pruning count the members the history still holds from
-- before its new start
SELECT count(*) AS size_differences_after_horizon FROM (
	SELECT day, kind, segment, s.members AS view_members, coalesce(o.members, 0) AS oracle_members
	FROM (SELECT * FROM hm_segment_sizes WHERE day IN (SELECT day FROM days WHERE day >= '2025-07-03')) s
	FULL JOIN (SELECT d.day, o.kind, o.segment, count(*) AS members
			   FROM days d, oracle_at(d.day + 1 - interval '1 microsecond') o WHERE d.day >= '2025-07-03'
			   GROUP BY 1, 2, 3) o USING (day, kind, segment)) x
WHERE view_members IS DISTINCT FROM oracle_members;

-- TRUNCATE of the orders: every customer leaves its RFM segments and
-- stage at the analysis time; the rule segments stay
SET segment.as_of = '2025-09-02';
TRUNCATE orders;
SELECT kind, count(*) FROM segment_internal.memberships_at('hm', '2025-09-02 00:00:01', NULL) GROUP BY kind ORDER BY kind;
SELECT count(*) AS open_without_orders FROM hm_history WHERE left_at IS NULL AND kind <> 'rule';

-- what production does to it, on a small attachment
CREATE TABLE p_orders (id serial PRIMARY KEY, customer integer, at timestamptz, amount numeric);
CREATE INDEX ON p_orders (customer);
CREATE TABLE p_customers (id integer PRIMARY KEY, city text);
INSERT INTO p_customers SELECT c, 'Berlin' FROM generate_series(1, 10) c;
SET segment.as_of = '2025-06-01';
INSERT INTO p_orders (customer, at, amount) SELECT c, '2025-05-01'::timestamptz + c * interval '1 day', c FROM generate_series(1, 10) c;
SELECT count(*) > 0 FROM attach('hp', 'hist.p_orders', 'customer', 'at', 'amount', 'hist.p_customers', 'id');
SELECT count(*) > 0 FROM define_segment_rule('hp', 'Istanbul', $$city = 'Istanbul'$$);
SELECT maintain_attachment('hp');
CREATE FUNCTION p_overlaps() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM hp_history a JOIN hp_history b
		ON a.customer_id = b.customer_id AND a.kind = b.kind AND a.ctid < b.ctid
	   AND (a.segment = b.segment OR a.kind = 'lifecycle')
	   AND a.entered_at < coalesce(b.left_at, 'infinity') AND b.entered_at < coalesce(a.left_at, 'infinity') $$;
-- analysis times out of order: a write at an earlier time than the last
-- one recorded for the customer is dated at that one, for orders and for
-- customers alike; no two intervals of a segment (or two stages) overlap
SET segment.as_of = '2025-09-01';
INSERT INTO p_orders (customer, at, amount) VALUES (1, '2025-08-31', 5);
UPDATE p_customers SET city = 'Istanbul' WHERE id = 1;
SET segment.as_of = '2025-08-01';
INSERT INTO p_orders (customer, at, amount) VALUES (1, '2025-07-31', 5);
UPDATE p_customers SET city = 'Berlin' WHERE id = 1;
SET segment.as_of = '2025-08-15';
INSERT INTO p_orders (customer, at, amount) VALUES (1, '2025-08-14', 500);
UPDATE p_customers SET city = 'Istanbul' WHERE id = 1;
SELECT p_overlaps() AS overlaps, count(*) FILTER (WHERE entered_at > '2025-09-01' OR left_at > '2025-09-01') AS after_latest
FROM hp_history WHERE customer_id = 1;
SELECT kind, segment, entered_at, left_at FROM hp_history WHERE customer_id = 1 AND kind <> 'rfm' ORDER BY kind, entered_at;
-- a trigger of the user's on the tags table that catches an error in its
-- own subtransaction loses nothing of the history
CREATE FUNCTION p_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN
		NULL;
	END;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_audit AFTER INSERT OR UPDATE OR DELETE ON hp_tags FOR EACH ROW EXECUTE FUNCTION p_audit();
SET segment.as_of = '2025-09-02';
UPDATE p_customers SET city = 'Istanbul' WHERE id IN (2, 3);
SELECT count(*) AS rule_intervals_from_the_update FROM hp_history
WHERE kind = 'rule' AND entered_at = '2025-09-02' AND customer_id IN (2, 3);
DROP TRIGGER zz_audit ON hp_tags;
-- a trigger of the user's that writes the tags table itself, in a
-- subtransaction it then undoes: the history holds what the tags hold
CREATE FUNCTION p_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.customer_id = 7 THEN
		BEGIN
			UPDATE hist.hp_tags SET segments = segment_set(ARRAY['Phantom']) WHERE customer_id = 2;
			RAISE EXCEPTION 'undone';
		EXCEPTION WHEN raise_exception THEN
			NULL;
		END;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_rewrite AFTER INSERT OR UPDATE ON hp_tags FOR EACH ROW EXECUTE FUNCTION p_rewrite();
SET segment.as_of = '2025-09-02 12:00';
UPDATE p_customers SET city = 'Istanbul' WHERE id IN (7, 8);
DROP TRIGGER zz_rewrite ON hp_tags;
SELECT count(*) AS rule_history_differences FROM (
	(SELECT customer_id, segment FROM hp_history WHERE kind = 'rule' AND left_at IS NULL
	 EXCEPT ALL SELECT customer_id, unnest(segment_set_labels(segments)) FROM hp_tags)
	UNION ALL
	(SELECT customer_id, unnest(segment_set_labels(segments)) FROM hp_tags
	 EXCEPT ALL SELECT customer_id, segment FROM hp_history WHERE kind = 'rule' AND left_at IS NULL)) d;
SELECT count(*) AS phantom FROM hp_history WHERE segment = 'Phantom';
-- an order dated later than its write counts from the write
SET segment.as_of = '2025-09-03';
INSERT INTO p_orders (customer, at, amount) VALUES (4, '2025-10-01', 900);
SELECT kind, segment, entered_at FROM hp_history WHERE customer_id = 4 AND left_at IS NULL AND kind = 'lifecycle';
-- an infinite analysis time is refused, not recorded
SET segment.as_of = 'infinity';
\set VERBOSITY sqlstate
UPDATE p_customers SET city = 'Istanbul' WHERE id = 5;
\set VERBOSITY default
-- TRUNCATE of the tags and of the state (the extension deletes; its owner
-- may truncate): what they held ends
SET segment.as_of = '2025-09-04';
TRUNCATE hp_tags;
SELECT count(*) AS open_rule_intervals FROM hp_history WHERE kind = 'rule' AND left_at IS NULL;
SELECT refresh_customer_tags('hp') > 0 AS tags_again;
SELECT count(*) AS open_rule_intervals FROM hp_history WHERE kind = 'rule' AND left_at IS NULL;
-- a stranger's table cannot write the history, nor run code as its owner
CREATE ROLE segment_history_stranger;
GRANT USAGE ON SCHEMA hist TO segment_history_stranger;
SET ROLE segment_history_stranger;
CREATE TEMP TABLE fake (customer_id integer, segments segment_set);
CREATE TRIGGER r AFTER INSERT ON fake FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_history_row('hp', 'tags');
CREATE TRIGGER f AFTER INSERT ON fake FOR EACH STATEMENT EXECUTE FUNCTION segment_internal.segment_history_flush('hp');
INSERT INTO fake VALUES (1, segment_set(ARRAY['VIP']));
RESET ROLE;
SELECT count(*) AS planted FROM hp_history WHERE segment = 'VIP';
DROP TABLE pg_temp.fake;
REVOKE USAGE ON SCHEMA hist FROM segment_history_stranger;
DROP ROLE segment_history_stranger;
-- stop, orders meanwhile, maintain again: the history answers from the
-- restart on
SET segment.as_of = '2025-09-05';
SELECT stop_maintaining('hp');
SELECT history_table, history_snapshots FROM attachments WHERE attachment_name = 'hp';
SET segment.as_of = '2025-09-06';
INSERT INTO p_orders (customer, at, amount) VALUES (6, '2025-09-06', 50);
SET segment.as_of = '2025-09-07';
SELECT maintain_attachment('hp');
SELECT history_since, history_snapshots FROM attachments WHERE attachment_name = 'hp';
SELECT p_overlaps() AS overlaps;
SELECT detach('hp');

-- errors
\set VERBOSITY sqlstate
SELECT * FROM segment_members_at('nope', 'Champions', now());
SELECT * FROM segment_members_at('hm', 'Champions', NULL);
SELECT * FROM segment_members_at('hm', 'Champions', '2025-01-01');
SELECT * FROM segment_members_at('hm', 'Champions', 'infinity');
SELECT * FROM segment_transitions('hm', '2025-01-01', '2025-08-01');
SELECT snapshot_segments('hm');
SELECT snapshot_segments('hu');
SELECT keep_segment_history('hm', '-1 day');
SELECT keep_segment_history('hu');
\set VERBOSITY default
SELECT * FROM segment_members_at('hm', 'Champions', '2025-01-01');
SELECT snapshot_segments('hm');
SELECT snapshot_segments('hu');
SELECT count(*) FROM segment_members_at('hm', NULL, '2025-08-01');
SELECT drop_segment_history('hm');
SELECT to_regclass('hist.hm_history'), to_regclass('hist.hm_segment_sizes');
SELECT * FROM segment_members_at('hm', 'Champions', '2025-08-01');
SELECT drop_segment_history('hm');
SELECT keep_segment_history('hm')::text;
SELECT count(*) FROM hm_history;
SELECT detach('hm');
SELECT detach('hu');
SELECT to_regclass('hist.hm_history'), to_regclass('hist.hu_history');

-- A bulk close after the history was analyzed with no open interval: the
-- statistics say the open intervals are few, and a plan that joined the
-- open intervals to the changes joined each of 10,000 to each of 10,000
-- (about 50 s; more than ten minutes at 50,000 customers).  The write
-- reaches the interval each change ends by its row address, one index
-- probe per change, whatever the statistics: the plan shows it, and the
-- close takes well under the bound (a wall clock: the fold runs at commit,
-- where statement_timeout does not reach).
CREATE TABLE bulk_orders (customer integer, at timestamptz, amount numeric);
CREATE INDEX ON bulk_orders (customer);
SELECT count(*) > 0 FROM attach('bulk', 'bulk_orders', 'customer', 'at', 'amount');
SELECT maintain_attachment('bulk')::text;
SELECT keep_segment_history('bulk')::text;
INSERT INTO bulk_orders SELECT c, timestamptz '2025-01-01' + c * interval '1 minute', c % 90 FROM generate_series(1, 10000) c;
TRUNCATE bulk_orders;
ANALYZE bulk_history;
SELECT format('PREPARE bulk_write(integer[], text[], text[], timestamptz[], timestamptz[]) AS %s', s.write) AS prepare
FROM segment_internal.history_statements('bulk', 'integer') s \gset
:prepare;
CREATE FUNCTION plan_lines(statement text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL plan_cache_mode = force_generic_plan;
	SET LOCAL enable_seqscan = off;		-- as segment_history_flush() runs it
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || statement;
END $$;
SELECT count(*) FILTER (WHERE line ~ 'Tid Scan on bulk_history') AS ended_by_row_address
FROM plan_lines($$EXECUTE bulk_write('{1}', '{rfm}', '{Champions}', '{NULL}', '{2025-06-01}')$$) line;
DEALLOCATE bulk_write;
INSERT INTO bulk_orders SELECT c, timestamptz '2025-02-01' + c * interval '1 minute', c % 90 FROM generate_series(1, 10000) c;
SELECT clock_timestamp() AS started \gset
TRUNCATE bulk_orders;
SELECT clock_timestamp() - :'started' < interval '5 seconds' AS closed_in_time,
	   (SELECT count(*) FROM bulk_history WHERE left_at IS NULL) AS still_open;
SELECT detach('bulk');
DROP SCHEMA hist CASCADE;
