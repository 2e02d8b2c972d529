-- Maintained state: maintain_attachment() keeps one row of statistics per
-- customer current through a trigger on the orders table.  After every kind
-- of change (inserts, orders without time, customer or amount, updates of
-- amounts, times and customers, updates of other columns, deletes,
-- truncate) the state equals the statistics computed again from the orders;
-- the views of a maintained attachment read the state and show what the
-- views of an unmaintained one compute from the orders, also when orders
-- name customers the customers table lacks.  Concurrency is tested by the
-- isolation specs in test/specs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
SET segment.as_of = '2026-01-01';

CREATE SCHEMA kept;
CREATE TABLE kept.orders (order_id serial PRIMARY KEY, customer_id bigint, ordered_at timestamptz,
						  amount numeric(10, 2), note text);
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT 1 + (hashint8(i)::bigint & 255), timestamptz '2024-01-01' + make_interval(hours => i * 3),
	   ((hashint8(i * 7)::bigint & 8191) / 100.0)::numeric(10, 2)
FROM generate_series(1, 4000) i;

-- the same statistics computed from the orders
CREATE VIEW kept.from_orders AS
SELECT customer_id, rfm_stats(ordered_at, amount) AS stats
FROM kept.orders WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING count(ordered_at) > 0;

SELECT count(*) AS views FROM attach('keep', 'kept.orders', 'customer_id', 'ordered_at', 'amount');
-- without an index on the customer column, updates and deletes read every order
SELECT maintain_attachment('keep');
CREATE INDEX ON kept.orders (customer_id);
-- how far the state is from the statistics computed from the orders
CREATE VIEW kept.differences AS
SELECT count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text) AS differences,
	   count(*) AS customers
FROM kept.keep_state s FULL JOIN kept.from_orders o USING (customer_id);
SELECT * FROM kept.differences;
-- the stored scores, stage and segments against the same values derived
-- again in SQL, at the time they were stored (or the last order, if later),
-- a microsecond before they expire (a century later if they never do) and
-- at the start of their span (valid_from, which is not after scored_at): a
-- row is counted once for every value that disagrees
CREATE VIEW kept.stored_differences AS
SELECT count(*) FILTER (WHERE s.scores IS DISTINCT FROM rfm_score(s.stats, j.at, t.thresholds)) +
	   count(*) FILTER (WHERE s.lifecycle_stage IS DISTINCT FROM lifecycle_stage(s.stats, j.at)) +
	   count(*) FILTER (WHERE s.segments IS DISTINCT FROM
						segment_set(segment_memberships(rfm_score(s.stats, j.at, t.thresholds), 'default'))) +
	   count(*) FILTER (WHERE s.valid_until > j.at AND
						(rfm_score(s.stats, u.at, t.thresholds) <> s.scores OR
						 lifecycle_stage(s.stats, u.at) <> s.lifecycle_stage)) +
	   count(*) FILTER (WHERE s.valid_from IS NULL OR s.valid_from > j.at OR
						rfm_score(s.stats, f.at, t.thresholds) IS DISTINCT FROM s.scores OR
						lifecycle_stage(s.stats, f.at) IS DISTINCT FROM s.lifecycle_stage)
	   AS stored_differences,
	   count(*) FILTER (WHERE s.valid_until > j.at) AS valid_rows
FROM kept.keep_state s
	 CROSS JOIN LATERAL (SELECT GREATEST(s.scored_at, last_order_time(s.stats)) AS at) j
	 CROSS JOIN LATERAL (SELECT GREATEST(s.valid_from, last_order_time(s.stats)) AS at) f
	 CROSS JOIN LATERAL (SELECT CASE WHEN s.valid_until = 'infinity' THEN j.at + interval '100 years'
									 ELSE s.valid_until - interval '1 microsecond' END AS at) u,
	 attachments t
WHERE t.attachment_name = 'keep';
SELECT * FROM kept.stored_differences;

-- inserts: new customers, existing ones, an order without time (no order),
-- without customer (nobody's), without amount (counted, adds nothing)
INSERT INTO kept.orders (customer_id, ordered_at, amount) VALUES
	(1, '2025-06-01', 10), (9999, '2025-06-02', 20), (9999, '2025-06-03', NULL),
	(2, NULL, 30), (NULL, '2025-06-04', 40);
SELECT * FROM kept.differences;
SELECT * FROM kept.stored_differences;
SELECT customer_id, stats FROM kept.keep_state WHERE customer_id = 9999;

-- updates of amounts and times, moves between customers, other columns
UPDATE kept.orders SET amount = amount * 2 WHERE order_id % 10 = 0;
UPDATE kept.orders SET ordered_at = ordered_at - interval '30 days' WHERE order_id % 13 = 0;
UPDATE kept.orders SET customer_id = 5000 + order_id % 3 WHERE order_id % 97 = 0;
UPDATE kept.orders SET note = 'seen' WHERE order_id % 5 = 0;
UPDATE kept.orders SET ordered_at = NULL WHERE order_id = 4;
SELECT * FROM kept.differences;
SELECT * FROM kept.stored_differences;

-- deletes, down to customers with no orders left
DELETE FROM kept.orders WHERE order_id % 7 = 0 OR customer_id = 9999;
SELECT * FROM kept.differences;
SELECT * FROM kept.stored_differences;
SELECT count(*) AS state_rows_for_9999 FROM kept.keep_state WHERE customer_id = 9999;

-- the views read the state and score against the thresholds stored at the
-- last refresh; refreshed now, they agree with a second, unmaintained
-- attachment, which scores against all customers when read
SELECT thresholds_as_of, thresholds::text = (SELECT rfm_thresholds(stats, '2026-01-01') FROM kept.keep_state)::text AS current
FROM attachments WHERE attachment_name = 'keep';
SELECT refresh_attachment_thresholds('keep')::text = (SELECT rfm_thresholds(stats, '2026-01-01') FROM kept.keep_state)::text AS refreshed;
SELECT count(*) AS views FROM attach('direct', 'kept.orders', 'customer_id', 'ordered_at', 'amount');
SELECT count(*) AS customers,
	   (SELECT count(*) FROM (SELECT * FROM kept.keep_customers EXCEPT SELECT * FROM kept.direct_customers) d) AS differences
FROM kept.keep_customers;
SELECT (SELECT count(*) FROM (SELECT * FROM kept.keep_segment_summary EXCEPT SELECT * FROM kept.direct_segment_summary) d)
	   + (SELECT count(*) FROM (SELECT * FROM kept.keep_lifecycle_summary EXCEPT SELECT * FROM kept.direct_lifecycle_summary) d)
	   AS summary_differences;
-- one customer is an index lookup in the state (how the one row of the
-- attachment's configuration is read follows that table's statistics)
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END $$;
SELECT DISTINCT coalesce(substring(line FROM 'Scan using ([a-z_0-9]+)'), substring(line FROM '(Seq Scan on [a-z_0-9]+)')) AS scans
FROM pg_temp.plan_of('SELECT * FROM kept.keep_customers WHERE customer_id = 42') line
WHERE line ~ '(Scan using|Seq Scan on)' AND line !~ ' on attachments( |$)' ORDER BY 1;

-- read at two times: time alone moves customers between lifecycle stages,
-- and the maintained views follow without any write
SELECT lifecycle_stage, customers FROM kept.keep_lifecycle_summary WHERE customers > 0;
SET segment.as_of = '2026-09-01';
SELECT lifecycle_stage, customers FROM kept.keep_lifecycle_summary WHERE customers > 0;
SELECT count(*) AS stage_differences
FROM kept.keep_customers k JOIN kept.direct_customers d USING (customer_id)
WHERE k.lifecycle_stage <> d.lifecycle_stage OR k.recency_days <> d.recency_days;

-- a segment's members are found through the GIN index of the stored
-- segments, and the rows whose stored values expired are derived again;
-- at both times the segment views list who the customers view says
SET enable_seqscan = off;
SELECT DISTINCT substring(line FROM 'keep_state_[a-z_]+_idx') AS indexes
FROM pg_temp.plan_of('SELECT customer_id FROM kept.keep_segment_champions') line
WHERE line ~ 'keep_state_[a-z_]+_idx' ORDER BY 1;
RESET enable_seqscan;
-- refresh_due_segments rewrites exactly the rows whose span does not hold
-- the analysis time, and none is left
CREATE VIEW kept.expired AS
SELECT count(*) AS expired FROM kept.keep_state
WHERE valid_until <= segment_as_of() OR valid_from > segment_as_of();
SELECT expired AS expired_before FROM kept.expired \gset
SELECT :expired_before > 0 AS some_expired;
SELECT refresh_due_segments('keep') = :expired_before AS refreshed_the_expired;
SELECT * FROM kept.expired;
SELECT * FROM kept.stored_differences;
CREATE VIEW kept.segment_view_differences AS
SELECT (SELECT count(*) FROM kept.keep_segment_members WHERE segment IN ('Champions', 'At Risk', 'Lost')) AS members,
	   count(*) AS differences FROM (
	(SELECT 'Champions', customer_id FROM kept.keep_segment_champions
	 UNION ALL SELECT 'At Risk', customer_id FROM kept.keep_segment_at_risk
	 UNION ALL SELECT 'Lost', customer_id FROM kept.keep_segment_lost)
	EXCEPT ALL
	SELECT segment, customer_id FROM kept.keep_segment_members WHERE segment IN ('Champions', 'At Risk', 'Lost')
	UNION ALL
	(SELECT segment, customer_id FROM kept.keep_segment_members WHERE segment IN ('Champions', 'At Risk', 'Lost')
	 EXCEPT ALL
	 (SELECT 'Champions', customer_id FROM kept.keep_segment_champions
	  UNION ALL SELECT 'At Risk', customer_id FROM kept.keep_segment_at_risk
	  UNION ALL SELECT 'Lost', customer_id FROM kept.keep_segment_lost))
) d;
SELECT * FROM kept.segment_view_differences;
SET segment.as_of = '2026-01-01';
SELECT * FROM kept.segment_view_differences;
-- the rows it rewrote are those scored after this earlier analysis time
SELECT count(*) FILTER (WHERE scored_at > segment_as_of()) = :expired_before AS rewritten_later
FROM kept.keep_state;
DROP VIEW kept.expired;
DROP VIEW kept.segment_view_differences;

-- bad input to the functions of stored values: NULLs give NULL, an
-- infinite analysis time and an attachment that is not maintained are errors
SELECT segments_valid_until(NULL, '2026-01-01', NULL) IS NULL AS null_stats,
	   segments_valid_until(stats, NULL, NULL) IS NULL AS null_as_of,
	   segments_valid_until(stats, '2026-01-01', NULL) >= '2026-01-01' AS without_thresholds
FROM kept.keep_state WHERE customer_id = 1;
SELECT segments_valid_until(stats, 'infinity', NULL) FROM kept.keep_state WHERE customer_id = 1;
SELECT segments_valid_from(NULL, '2026-01-01', NULL) IS NULL AS null_stats,
	   segments_valid_from(stats, NULL, NULL) IS NULL AS null_as_of,
	   segments_valid_from(stats, '2026-01-01', NULL) <= '2026-01-01' AS without_thresholds
FROM kept.keep_state WHERE customer_id = 1;
SELECT segments_valid_from(stats, '-infinity', NULL) FROM kept.keep_state WHERE customer_id = 1;
-- segments_valid_from: at the start it gives, and halfway to the analysis
-- time, every customer has the scores and stage it has at that time
SELECT count(*) FILTER (WHERE f.at < j.at) > 0 AS starts_before,
	   count(*) FILTER (WHERE rfm_score(s.stats, f.at, t.thresholds) <> rfm_score(s.stats, j.at, t.thresholds) OR
							  lifecycle_stage(s.stats, f.at) <> lifecycle_stage(s.stats, j.at) OR
							  rfm_score(s.stats, f.at + (j.at - f.at) / 2, t.thresholds) <> rfm_score(s.stats, j.at, t.thresholds) OR
							  lifecycle_stage(s.stats, f.at + (j.at - f.at) / 2) <> lifecycle_stage(s.stats, j.at)) AS differences
FROM kept.keep_state s, attachments t,
	 (VALUES (timestamptz '2026-01-01'), ('2026-03-15'), ('2027-01-01'), ('2030-06-01')) v(at)
	 CROSS JOIN LATERAL (SELECT GREATEST(v.at, last_order_time(s.stats)) AS at) j
	 CROSS JOIN LATERAL (SELECT GREATEST(segments_valid_from(s.stats, j.at, t.thresholds), last_order_time(s.stats)) AS at) f
WHERE t.attachment_name = 'keep';
SELECT refresh_due_segments('direct');
SELECT refresh_due_segments('nothing');

-- an order dated after the analysis time is left out until then, as the
-- views of an attachment that is not maintained leave it out
INSERT INTO kept.orders (customer_id, ordered_at, amount) VALUES (3, '2026-03-01', 5);
SELECT k.customer_id, k.recency_days, k.lifecycle_stage,
	   (k.recency_days, k.lifecycle_stage) = (d.recency_days, d.lifecycle_stage) AS as_unmaintained
FROM kept.keep_customers k JOIN kept.direct_customers d USING (customer_id) WHERE customer_id = 3;
SELECT * FROM kept.stored_differences;

-- bulk loads: one statement writes 20,000 new customers, the next 20,000
-- orders of existing ones (the trigger's row locks take no room in the
-- lock table, which an advisory lock per customer would overflow)
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT 100000 + i, timestamptz '2025-06-01' + make_interval(mins => i), i % 50
FROM generate_series(1, 20000) i;
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT 100000 + i, timestamptz '2025-07-01' + make_interval(mins => i), 1
FROM generate_series(1, 20000) i;
SELECT * FROM kept.differences;
SELECT * FROM kept.stored_differences;
DELETE FROM kept.orders WHERE customer_id > 100000;
SELECT * FROM kept.differences;

-- a later write keeps the span of validity the row had while it stays
-- true and holds the new analysis time, so the indexed bounds seldom change
-- (heap-only updates); orders after, between and before a customer's
-- orders
SET segment.as_of = '2026-09-02';
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT c, (ARRAY[timestamptz '2026-09-01 12:00', '2025-01-15', '2023-06-01'])[1 + c % 3], 7
FROM generate_series(1, 256, 2) c;
SELECT count(*) FILTER (WHERE valid_from < scored_at) > 0 AS starts_kept,
	   count(*) FILTER (WHERE valid_until < segments_valid_until(stats, GREATEST(scored_at, last_order_time(stats)),
															   t.thresholds)) > 0 AS ends_kept,
	   count(*) FILTER (WHERE scored_at = segment_as_of()) AS written
FROM kept.keep_state, attachments t WHERE t.attachment_name = 'keep';
SELECT * FROM kept.stored_differences;
SET segment.as_of = '2026-01-01';

-- the trigger rewrites a customer's row in place, without a statement; the
-- new versions have the index entries a statement gives them (amcheck finds
-- every row in each B-tree, the GIN index finds what a scan of the table
-- finds), and columns of the table's own keep their values
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS amcheck;
RESET client_min_messages;
CREATE VIEW kept.index_differences AS
SELECT (SELECT count(bt_index_check(b.indexrelid, true)::text)
		FROM (SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
			  WHERE i.indrelid = 'kept.keep_state'::regclass AND a.amname = 'btree' OFFSET 0) b) AS btrees_checked,
	   (SELECT count(*) FROM (SELECT DISTINCT unnest(segment_set_labels(segments)) AS label FROM kept.keep_state) l
		WHERE (SELECT array_agg(customer_id ORDER BY customer_id) FROM kept.keep_state WHERE segments @> segment_set(ARRAY[l.label]))
			  IS DISTINCT FROM
			  (SELECT array_agg(customer_id ORDER BY customer_id) FROM kept.keep_state WHERE segment_set_labels(segments) @> ARRAY[l.label])
	   ) AS gin_differences;
ALTER TABLE kept.keep_state ADD COLUMN note text DEFAULT 'kept';
UPDATE kept.keep_state SET note = 'mine' WHERE customer_id = 6;
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2025-09-01' + make_interval(hours => c), c % 40 FROM generate_series(1, 256) c;
SET enable_seqscan = off;
SELECT * FROM kept.index_differences;
RESET enable_seqscan;
SELECT * FROM kept.stored_differences;
SELECT note, count(*) FROM kept.keep_state GROUP BY note ORDER BY note;

-- what a plain write cannot honour sends the write through an UPDATE,
-- which honours it: a trigger on the state table, a CHECK constraint, an
-- expression index, a writer without UPDATE privilege, row-level security
CREATE TABLE kept.state_writes (customer_id bigint, stage text);
CREATE FUNCTION kept.note_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO kept.state_writes VALUES (NEW.customer_id, NEW.lifecycle_stage);
	RETURN NEW;
END $$;
CREATE TRIGGER note_write BEFORE UPDATE ON kept.keep_state FOR EACH ROW EXECUTE FUNCTION kept.note_write();
INSERT INTO kept.orders (customer_id, ordered_at, amount) VALUES (3, '2025-10-01', 5), (4, '2025-10-02', 6);
SELECT w.customer_id, w.stage = s.lifecycle_stage AS stage_written
FROM kept.state_writes w JOIN kept.keep_state s USING (customer_id) ORDER BY 1;
DROP TRIGGER note_write ON kept.keep_state;
ALTER TABLE kept.keep_state ADD CONSTRAINT never_written CHECK (scored_at IS NULL) NOT VALID;
\set VERBOSITY terse
INSERT INTO kept.orders (customer_id, ordered_at, amount) VALUES (5, '2025-10-03', 5);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE kept.keep_state DROP CONSTRAINT never_written;
CREATE INDEX keep_state_stage ON kept.keep_state (upper(lifecycle_stage));
INSERT INTO kept.orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2025-11-01' + make_interval(hours => c), 3 FROM generate_series(1, 256, 3) c;
SET enable_seqscan = off;
SELECT * FROM kept.index_differences;
RESET enable_seqscan;
DROP INDEX kept.keep_state_stage;
-- a writer of orders needs no privilege on the state table: the state is
-- written as its owner, so it does not depend on which orders the writer
-- may see, and the writer cannot write the state table itself
CREATE ROLE segment_kept_clerk;
GRANT USAGE ON SCHEMA kept TO segment_kept_clerk;
GRANT INSERT, UPDATE (amount) ON kept.orders TO segment_kept_clerk;
GRANT SELECT (order_id, customer_id) ON kept.orders TO segment_kept_clerk;
GRANT USAGE ON SEQUENCE kept.orders_order_id_seq TO segment_kept_clerk;
SET ROLE segment_kept_clerk;
INSERT INTO kept.orders (customer_id, ordered_at, amount) VALUES (7, '2025-12-01', 5), (5, '2025-12-01', 5);
UPDATE kept.orders SET amount = 6 WHERE customer_id = 7;
\set VERBOSITY terse
UPDATE kept.keep_state SET stats = NULL WHERE customer_id = 7;
SELECT count(*) FROM kept.keep_state;
\set VERBOSITY default
RESET ROLE;
REVOKE ALL ON kept.orders, kept.orders_order_id_seq FROM segment_kept_clerk;
REVOKE ALL ON SCHEMA kept FROM segment_kept_clerk;
DROP ROLE segment_kept_clerk;
SELECT * FROM kept.differences;
SELECT * FROM kept.stored_differences;
ALTER TABLE kept.keep_state DROP COLUMN note;
DROP VIEW kept.index_differences;

-- orders whose time and amount columns are of other types: the trigger
-- casts them as SQL does (date and timestamp to timestamptz; integer, real,
-- double precision and money to numeric), for new and existing customers;
-- a time zone other than UTC, where timestamp and timestamptz differ
SET TimeZone = 'America/Sao_Paulo';
CREATE TABLE kept.typed (customer_id int, day date, at timestamp, units int, weight real,
						 volume double precision, paid money);
CREATE INDEX ON kept.typed (customer_id);
SELECT count(*) > 0 AS attached
FROM (VALUES ('day', 'units'), ('at', 'weight'), ('at', 'volume'), ('day', 'paid')) a(at, amount),
	 attach('typed_' || a.amount, 'kept.typed', 'customer_id', a.at, a.amount);
SELECT count(maintain_attachment('typed_' || a)) AS maintained FROM unnest(ARRAY['units', 'weight', 'volume', 'paid']) a;
INSERT INTO kept.typed
SELECT i % 7, date '2025-01-01' + i, timestamp '2025-01-01 10:30' + i * interval '7 hours',
	   i - 20, i / 3.0, i * 1e-3, (i * 1.25)::numeric::money
FROM generate_series(1, 40) i;
INSERT INTO kept.typed (customer_id, day, at) VALUES (3, '2025-12-01', '2025-12-01'), (8, '2025-12-02', '2025-12-02');
SELECT 'units' AS amount, count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text) AS differences,
	   count(*) AS customers
FROM kept.typed_units_state s
	 FULL JOIN (SELECT customer_id, rfm_stats(day::timestamptz, units::numeric) AS stats
				FROM kept.typed GROUP BY customer_id) o USING (customer_id)
UNION ALL
SELECT 'weight', count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text), count(*)
FROM kept.typed_weight_state s
	 FULL JOIN (SELECT customer_id, rfm_stats(at::timestamptz, weight::numeric) AS stats
				FROM kept.typed GROUP BY customer_id) o USING (customer_id)
UNION ALL
SELECT 'volume', count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text), count(*)
FROM kept.typed_volume_state s
	 FULL JOIN (SELECT customer_id, rfm_stats(at::timestamptz, volume::numeric) AS stats
				FROM kept.typed GROUP BY customer_id) o USING (customer_id)
UNION ALL
SELECT 'paid', count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text), count(*)
FROM kept.typed_paid_state s
	 FULL JOIN (SELECT customer_id, rfm_stats(day::timestamptz, paid::numeric) AS stats
				FROM kept.typed GROUP BY customer_id) o USING (customer_id);
SELECT count(detach('typed_' || a)) AS detached FROM unnest(ARRAY['units', 'weight', 'volume', 'paid']) a;
SET TimeZone = 'UTC';

-- truncate empties the state
TRUNCATE kept.orders;
SELECT * FROM kept.differences;

-- errors, and stopping
SELECT maintain_attachment('keep');
\echo :LAST_ERROR_SQLSTATE
SELECT maintain_attachment('nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT stop_maintaining('direct');
\echo :LAST_ERROR_SQLSTATE
SELECT refresh_attachment_thresholds('direct');
\echo :LAST_ERROR_SQLSTATE
-- a view of the user's on the state table keeps it until dropped
SELECT stop_maintaining('keep');
DROP VIEW kept.differences, kept.stored_differences;
SELECT stop_maintaining('keep');
SELECT count(*) AS state_tables FROM pg_class WHERE relname = 'keep_state';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'kept.orders'::regclass;
-- detach of a maintained attachment drops its state and triggers too
SELECT maintain_attachment('direct');
SELECT detach('direct');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'kept.orders'::regclass;
SELECT count(*) AS state_tables FROM pg_class WHERE relname = 'direct_state';
SELECT detach('keep');
SET client_min_messages = warning;
DROP SCHEMA kept CASCADE;
RESET client_min_messages;

-- orders of customers missing from the customers table: the customers view
-- lists the customers table's customers, and both kinds of attachment score
-- them against each other, the maintained one with thresholds stored from
-- its state, the other with thresholds computed when read.  The orphans
-- (recent, large orders) would move every threshold; the two attachments'
-- views agree row for row, and again after writes and a refresh
CREATE SCHEMA orphans;
CREATE TABLE orphans.customers (customer_id bigint PRIMARY KEY, city text);
CREATE TABLE orphans.orders (customer_id bigint, ordered_at timestamptz, amount numeric(10, 2));
CREATE INDEX ON orphans.orders (customer_id);
-- customers 1..400 (351..400 prospects) and orders of 1..350 and 401..700
INSERT INTO orphans.customers SELECT c, (ARRAY['Istanbul', 'Izmir'])[1 + c % 2] FROM generate_series(1, 400) c;
INSERT INTO orphans.orders
SELECT c, timestamptz '2025-12-31' - make_interval(days => CASE WHEN c > 400 THEN (c * 3 + k) % 40 ELSE (c * 7 + k * 11) % 500 END),
	   (c % 97 + k) * CASE WHEN c > 400 THEN 10 ELSE 1 END
FROM generate_series(1, 700) c, generate_series(1, 1 + c % 5) k WHERE c <= 350 OR c > 400;
SELECT count(*) AS views FROM attach('orphans_kept', 'orphans.orders', 'customer_id', 'ordered_at', 'amount',
									 'orphans.customers', 'customer_id');
SELECT count(*) AS views FROM attach('orphans_read', 'orphans.orders', 'customer_id', 'ordered_at', 'amount',
									 'orphans.customers', 'customer_id');
SELECT define_segment_rule(a, 'Istanbul', $$city = 'Istanbul'$$), define_segment_rule(a, 'Recent', 'recency_days <= 30')
FROM unnest(ARRAY['orphans_kept', 'orphans_read']) a;
SELECT maintain_attachment('orphans_kept');
SELECT a.thresholds::text <> (SELECT rfm_thresholds(stats, '2026-01-01')::text FROM orphans.orphans_kept_state)
	   AS orphans_would_move_thresholds
FROM attachments a WHERE a.attachment_name = 'orphans_kept';
-- whole rows of the customers view (scores, segments, stage, population
-- average order value) and of the summaries, both ways
CREATE FUNCTION orphans.differences() RETURNS TABLE (view_name text, kept_rows bigint, differences bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['customers', 'segment_summary', 'lifecycle_summary'] LOOP
		view_name := v;
		EXECUTE format('SELECT (SELECT count(*) FROM orphans.%1$I),
							   (SELECT count(*) FROM ((SELECT * FROM orphans.%1$I EXCEPT ALL SELECT * FROM orphans.%2$I)
													  UNION ALL (SELECT * FROM orphans.%2$I EXCEPT ALL SELECT * FROM orphans.%1$I)) d)',
					   'orphans_kept_' || v, 'orphans_read_' || v) INTO kept_rows, differences;
		RETURN NEXT;
	END LOOP;
END $$;
SELECT * FROM orphans.differences();
SELECT count(*) FILTER (WHERE rfm IS NOT NULL) AS scored, count(*) FILTER (WHERE order_count = 0) AS prospects
FROM orphans.orphans_kept_customers;
-- orphans become customers and customers orphans; a refresh takes the
-- customers table of the moment
INSERT INTO orphans.orders SELECT c, '2025-12-30', 500 FROM generate_series(395, 420) c;
INSERT INTO orphans.customers SELECT c, 'Izmir' FROM generate_series(401, 450) c;
DELETE FROM orphans.customers WHERE customer_id % 9 = 0;
SELECT refresh_attachment_thresholds('orphans_kept') IS NOT NULL AS refreshed;
SELECT * FROM orphans.differences();
SELECT detach('orphans_kept'), detach('orphans_read');
SET client_min_messages = warning;
DROP SCHEMA orphans CASCADE;
RESET client_min_messages;
