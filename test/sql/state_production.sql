-- The maintained state under what a production database does to it: every
-- kind of write (multi-row INSERT, INSERT ... ON CONFLICT, MERGE, writable
-- CTEs, COPY, TRUNCATE, savepoints), partitioned orders, schema changes,
-- renames and drops, row-level security, time zones, collations, orders
-- dated later than the analysis time.  After each step the state equals
-- the statistics computed again from the orders (0 differences), and its
-- stored values are those segment_internal.state_values() gives.  Two sessions at once are
-- in test/specs/state_concurrency.spec.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS segment;
CREATE SCHEMA prod;
SET segment.as_of = '2026-01-01';

-- the state of an attachment against its orders: customers, and rows whose
-- statistics differ (both ways)
CREATE FUNCTION prod.differences(attachment text) RETURNS TABLE (customers bigint, differences bigint)
LANGUAGE plpgsql AS $$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = attachment;
	RETURN QUERY EXECUTE format($q$
		SELECT count(*), count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text)
		FROM %1$s s FULL JOIN (
			SELECT o.%2$I AS customer_id, rfm_stats(%3$s, o.%4$I::numeric) AS stats
			FROM %5$s o WHERE o.%2$I IS NOT NULL AND o.%6$I IS NOT NULL GROUP BY 1) o USING (customer_id)$q$,
		a.state_table, a.customer_column,
		segment_internal.order_time_sql(format('o.%I', a.order_time_column), segment_internal.column_type(a.orders_table, a.order_time_column), a.time_zone),
		a.amount_column, a.orders_table, a.order_time_column);
END $$;
-- stored values that are not what segment_internal.state_values() gives for the statistics
-- at the time they were stored
CREATE FUNCTION prod.stored_differences(attachment text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	a attachments;
	result bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = attachment;
	EXECUTE format($q$
		SELECT count(*) FROM %1$s s, segment_internal.state_values(s.stats, s.scored_at, $1, NULL, NULL, NULL, $3) v
		WHERE s.scores IS DISTINCT FROM v.scores OR s.lifecycle_stage IS DISTINCT FROM v.lifecycle_stage
		   OR s.segments IS DISTINCT FROM segment_set(segment_memberships(v.scores, $2))
		   OR s.valid_until > segments_valid_until(s.stats, GREATEST(s.scored_at, last_order_time(s.stats)), $1)
		   OR s.valid_from < segments_valid_from(s.stats, GREATEST(s.scored_at, last_order_time(s.stats)), $1)$q$,
		a.state_table)
		INTO result USING a.thresholds, a.map_name, a.lifecycle_limits;
	RETURN result;
END $$;

CREATE TABLE prod.orders (id bigint PRIMARY KEY, customer_id int, t timestamptz, amount numeric(10, 2));
CREATE INDEX ON prod.orders (customer_id);
INSERT INTO prod.orders
SELECT i, 1 + i % 40, timestamptz '2025-01-01' + make_interval(hours => i * 7), (i % 97) + 0.5
FROM generate_series(1, 800) i;
SELECT count(*) > 0 AS attached FROM attach('plain', 'prod.orders', 'customer_id', 't', 'amount');
SELECT maintain_attachment('plain');
SELECT * FROM prod.differences('plain');

-- one statement that both derives a customer again and adds orders for it
-- counts each order once: INSERT ... ON CONFLICT DO UPDATE with several
-- rows (one updates an order of customer 1, one inserts another for it)
INSERT INTO prod.orders VALUES (1, 1, '2025-06-01', 10), (10001, 1, '2025-06-02', 20), (10002, 2, '2025-06-03', 30)
ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, t = excluded.t;
SELECT * FROM prod.differences('plain');
-- MERGE: update one order of a customer and insert another
MERGE INTO prod.orders o
USING (VALUES (2, 3, timestamptz '2025-07-01', 5.0), (10003, 3, '2025-07-02', 6.0)) v(id, customer_id, t, amount)
ON o.id = v.id
WHEN MATCHED THEN UPDATE SET amount = v.amount
WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.customer_id, v.t, v.amount);
SELECT * FROM prod.differences('plain');
-- a writable CTE that moves an order to another customer, and one that
-- deletes orders and inserts them again changed
WITH moved AS (UPDATE prod.orders SET customer_id = 4 WHERE id = 5 RETURNING id)
INSERT INTO prod.orders SELECT 10004 + id, 4, '2025-08-01', 1 FROM moved;
WITH gone AS (DELETE FROM prod.orders WHERE customer_id = 6 RETURNING *)
INSERT INTO prod.orders SELECT id, 7, t, amount * 2 FROM gone;
SELECT * FROM prod.differences('plain');
-- COPY, and a rolled-back savepoint between writes that stay
BEGIN;
COPY prod.orders FROM STDIN;
20001	8	2025-09-01 10:00:00+00	12.50
20002	9	2025-09-02 10:00:00+00	\N
20003	\N	2025-09-03 10:00:00+00	7.00
20004	10	\N	7.00
\.
SAVEPOINT s;
INSERT INTO prod.orders VALUES (20005, 8, '2025-09-05', 1000);
DELETE FROM prod.orders WHERE customer_id = 11;
ROLLBACK TO SAVEPOINT s;
INSERT INTO prod.orders VALUES (20006, 8, '2025-09-06', 1);
SAVEPOINT t;
UPDATE prod.orders SET amount = 0 WHERE customer_id = 12;
RELEASE SAVEPOINT t;
-- within the transaction the state is the one of its start: it is written
-- at commit
SELECT order_count(stats) AS orders_of_8_before_commit FROM prod.plain_state WHERE customer_id = 8;
COMMIT;
SELECT order_count(stats) AS orders_of_8 FROM prod.plain_state WHERE customer_id = 8;
SELECT * FROM prod.differences('plain');
-- a transaction that rolls back leaves nothing; TRUNCATE then writes in
-- one transaction, and TRUNCATE rolled back to a savepoint
BEGIN;
INSERT INTO prod.orders VALUES (30001, 13, '2025-10-01', 9);
ROLLBACK;
BEGIN;
INSERT INTO prod.orders VALUES (30002, 14, '2025-10-02', 9);
SAVEPOINT before_truncate;
TRUNCATE prod.orders;
ROLLBACK TO SAVEPOINT before_truncate;
INSERT INTO prod.orders VALUES (30003, 14, '2025-10-03', 9);
COMMIT;
SELECT * FROM prod.differences('plain');
-- the fold after each row, as SET CONSTRAINTS IMMEDIATE asks
BEGIN;
SET CONSTRAINTS state_commit IMMEDIATE;
INSERT INTO prod.orders VALUES (30004, 15, '2025-10-04', 1), (30005, 15, '2025-10-05', 2);
SELECT order_count(stats) AS orders_of_15_in_transaction FROM prod.plain_state WHERE customer_id = 15;
COMMIT;
SELECT * FROM prod.differences('plain');
SELECT prod.stored_differences('plain');

-- schema changes: a type change of the amount or the time column derives
-- every customer again, in this session too (its cached statements follow
-- the catalog); the add, copy, drop and rename migration of a column in
-- one transaction; the customer column's type may not change
INSERT INTO prod.orders VALUES (40001, 16, '2025-11-01', 1.25);
ALTER TABLE prod.orders ALTER COLUMN amount TYPE float8;
INSERT INTO prod.orders VALUES (40002, 16, '2025-11-02', 0.1), (40003, 17, '2025-11-02', 1e-3);
SELECT * FROM prod.differences('plain');
BEGIN;
ALTER TABLE prod.orders ADD COLUMN amount_new numeric(12, 2);
UPDATE prod.orders SET amount_new = amount * 2;
ALTER TABLE prod.orders DROP COLUMN amount;
ALTER TABLE prod.orders RENAME COLUMN amount_new TO amount;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (40004, 16, '2025-11-03', 3);
COMMIT;
SELECT * FROM prod.differences('plain');
ALTER TABLE prod.orders ALTER COLUMN t TYPE timestamp;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (40005, 18, '2025-11-04 12:00', 3);
SELECT * FROM prod.differences('plain');
ALTER TABLE prod.orders ALTER COLUMN customer_id TYPE bigint;
\echo :LAST_ERROR_SQLSTATE
-- a column renamed away: writes fail with the reason until it is back
ALTER TABLE prod.orders RENAME COLUMN amount TO price;
INSERT INTO prod.orders (id, customer_id, t, price) VALUES (40006, 18, '2025-11-05', 3);
ALTER TABLE prod.orders RENAME COLUMN price TO amount;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (40006, 18, '2025-11-05', 3);
SELECT * FROM prod.differences('plain');
-- the state table's owner changes a column's type: the history's
-- triggers depend on it; without them, the fold writes through SQL, so
-- that is an error, not a crash
ALTER TABLE prod.plain_state ALTER COLUMN scored_at TYPE int USING NULL;
SELECT drop_segment_history('plain');
ALTER TABLE prod.plain_state ALTER COLUMN scored_at TYPE int USING NULL;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (40007, 18, '2025-11-06', 3);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE prod.plain_state ALTER COLUMN scored_at TYPE timestamptz USING NULL;
SELECT rebuild_state('plain') > 0 AS rebuilt;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (40007, 18, '2025-11-06', 3);
-- renamed tables and schemas: writes keep working
ALTER TABLE prod.orders RENAME TO sales;
ALTER SCHEMA prod RENAME TO production;
INSERT INTO production.sales (id, customer_id, t, amount) VALUES (40008, 19, '2025-11-07', 3);
ALTER SCHEMA production RENAME TO prod;
ALTER TABLE prod.sales RENAME TO orders;
SELECT * FROM prod.differences('plain');
SELECT prod.stored_differences('plain');

-- the trigger refuses to feed an attachment's state from another table
CREATE TABLE prod.mine (customer_id int, t timestamp, amount numeric);
CREATE TRIGGER feed AFTER INSERT ON prod.mine FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_state_trigger('plain');
INSERT INTO prod.mine VALUES (1, '2025-01-01', 1e9);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE prod.mine;
-- nor may a role that does not own the orders table have customers derived
-- again, or the state refilled, through the functions the extension's event
-- trigger calls; and an attachment names only tables of its owner's
CREATE ROLE prod_intruder;
SET ROLE prod_intruder;
CREATE TEMP TABLE src (customer_id int);
SELECT segment_internal.state_derive_again('plain', 'src');
SELECT segment_internal.run_state_statement('plain', 'refill');
RESET ROLE;
DROP TABLE src;
DROP ROLE prod_intruder;
UPDATE attachments SET state_table = 'pg_class' WHERE attachment_name = 'plain';
UPDATE attachments SET orders_partitions = '{pg_class}' WHERE attachment_name = 'plain';
-- the state is written as its owner in a security-restricted operation:
-- code of the owner's that runs then (a trigger on the state table) can
-- leave no setting behind in the writer's session, nor make temporary
-- tables that would shadow the writer's
CREATE FUNCTION prod.state_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('statement_timeout', '1234', false);
	IF current_setting('segment.test_temp', true) = 'on' THEN
		CREATE TEMP TABLE shadow (x int);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER state_written AFTER INSERT OR UPDATE ON prod.plain_state
	FOR EACH STATEMENT EXECUTE FUNCTION prod.state_written();
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (44001, 18, '2025-11-08', 3);
SHOW statement_timeout;
SET segment.test_temp = on;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (44002, 18, '2025-11-09', 3);
RESET segment.test_temp;
DROP TRIGGER state_written ON prod.plain_state;
DROP FUNCTION prod.state_written();
SELECT * FROM prod.differences('plain');
-- orders that rfm_stats() refuses are refused as they are written
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (45001, 18, 'infinity', 3);
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (45002, 18, '2025-12-01', 'NaN');
-- SET CONSTRAINTS IMMEDIATE folds inside a savepoint that then rolls
-- back: the fold rolls back with it, and the commit folds again
BEGIN;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (46001, 24, '2025-12-10', 1000);
SAVEPOINT s;
SET CONSTRAINTS state_commit IMMEDIATE;
ROLLBACK TO SAVEPOINT s;
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (46002, 24, '2025-12-11', 1);
COMMIT;
SELECT order_count(stats) AS orders_of_24 FROM prod.plain_state WHERE customer_id = 24;
SELECT * FROM prod.differences('plain');

-- time zones: timestamp and date order times are read in the attachment's
-- time zone (the session's when attach() ran), whoever writes or reads
SELECT time_zone FROM attachments WHERE attachment_name = 'plain';
SET TimeZone = 'Asia/Tokyo';
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (50001, 20, '2025-12-01 09:00', 1);
SET TimeZone = 'America/Los_Angeles';
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (50002, 21, '2025-12-01 09:00', 1);
RESET TimeZone;
SELECT customer_id, last_order_time(stats) FROM prod.plain_state WHERE customer_id IN (20, 21) ORDER BY 1;
SELECT * FROM prod.differences('plain');

-- an order dated after the analysis time: the refresh and the views leave
-- it out until then, as the views of an attachment that is not maintained
SELECT count(*) > 0 AS attached FROM attach('unkept', 'prod.orders', 'customer_id', 't', 'amount');
INSERT INTO prod.orders (id, customer_id, t, amount) VALUES (60001, 22, '2026-06-01', 500), (60002, 23, '2027-01-01', 1);
SELECT refresh_attachment_thresholds('plain') IS NOT NULL AS refreshed;
SELECT thresholds::text = (SELECT rfm_thresholds(stats, '2026-01-01')::text FROM prod.unkept_customers c
						   JOIN LATERAL (SELECT rfm_stats(t::timestamptz, amount::numeric) AS stats FROM prod.orders o
										 WHERE o.customer_id = c.customer_id AND o.t <= '2026-01-01') s ON true)
	   AS thresholds_as_unmaintained
FROM attachments WHERE attachment_name = 'plain';
-- a past analysis time: the maintained views answer as the others
CREATE FUNCTION prod.view_differences() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT customer_id, order_count, total_amount, last_order_time, lifecycle_stage FROM prod.plain_customers
		 EXCEPT ALL SELECT customer_id, order_count, total_amount, last_order_time, lifecycle_stage FROM prod.unkept_customers)
		UNION ALL
		(SELECT customer_id, order_count, total_amount, last_order_time, lifecycle_stage FROM prod.unkept_customers
		 EXCEPT ALL SELECT customer_id, order_count, total_amount, last_order_time, lifecycle_stage FROM prod.plain_customers)) d
$$;
SELECT prod.view_differences() AS at_2026;
SET segment.as_of = '2025-07-01';
SELECT prod.view_differences() AS at_mid_2025, (SELECT count(*) FROM prod.plain_customers) AS customers;
SET segment.as_of = '2026-01-01';
SELECT detach('unkept');

-- row-level security: the state would hold the orders the policies hide,
-- so an orders table with it is not maintained, and enabling it on one
-- that is is refused
ALTER TABLE prod.orders ENABLE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE prod.secret (customer_id int, t timestamptz, amount numeric);
ALTER TABLE prod.secret ENABLE ROW LEVEL SECURITY;
SELECT count(*) > 0 AS attached FROM attach('secret', 'prod.secret', 'customer_id', 't', 'amount');
SELECT maintain_attachment('secret');
\echo :LAST_ERROR_SQLSTATE
SELECT detach('secret');
-- a nondeterministic collation of the customer key is refused too
CREATE COLLATION prod.case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE prod.blind (customer_id text COLLATE prod.case_blind, t timestamptz, amount numeric);
SELECT count(*) > 0 AS attached FROM attach('blind', 'prod.blind', 'customer_id', 't', 'amount');
SELECT maintain_attachment('blind');
\echo :LAST_ERROR_SQLSTATE
SELECT detach('blind');
-- and so is a key type of the user's, whose equality the state might not share
CREATE TYPE prod.tier AS ENUM ('gold', 'silver');
CREATE TABLE prod.tiered (customer_id prod.tier, t timestamptz, amount numeric);
SELECT count(*) > 0 AS attached FROM attach('tiered', 'prod.tiered', 'customer_id', 't', 'amount');
SELECT maintain_attachment('tiered');
SELECT detach('tiered');

-- partitioned orders: writes through the parent and into a partition,
-- orders moved across partitions, TRUNCATE of one partition, partitions
-- attached, created, detached and dropped
CREATE TABLE prod.parted (id bigint, customer_id int, t timestamptz, amount numeric) PARTITION BY RANGE (t);
CREATE TABLE prod.parted_2024 PARTITION OF prod.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE prod.parted_2025 PARTITION OF prod.parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX ON prod.parted (customer_id);
INSERT INTO prod.parted SELECT i, 1 + i % 30, timestamptz '2024-01-01' + make_interval(hours => i * 11), i % 50
FROM generate_series(1, 1500) i;
SELECT count(*) > 0 AS attached FROM attach('parted', 'prod.parted', 'customer_id', 't', 'amount');
SELECT maintain_attachment('parted');
SELECT * FROM prod.differences('parted');
UPDATE prod.parted SET amount = amount + 1 WHERE customer_id = 1;
DELETE FROM prod.parted WHERE customer_id = 2 AND t < '2025-01-01';
UPDATE prod.parted SET t = t - interval '1 year' WHERE customer_id = 3 AND t >= '2025-01-01';
INSERT INTO prod.parted_2025 VALUES (5001, 4, '2025-05-01', 99);
SELECT * FROM prod.differences('parted');
TRUNCATE prod.parted_2024;
SELECT * FROM prod.differences('parted');
CREATE TABLE prod.parted_2023 (LIKE prod.parted);
INSERT INTO prod.parted_2023 SELECT i, 1 + i % 35, timestamptz '2023-01-01' + make_interval(hours => i * 5), 3
FROM generate_series(1, 300) i;
ALTER TABLE prod.parted ATTACH PARTITION prod.parted_2023 FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
SELECT * FROM prod.differences('parted');
TRUNCATE prod.parted_2023;
SELECT * FROM prod.differences('parted');
CREATE TABLE prod.parted_2026 PARTITION OF prod.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO prod.parted_2026 VALUES (6001, 31, '2026-02-01', 5);
TRUNCATE prod.parted_2026;
INSERT INTO prod.parted VALUES (6002, 32, '2026-03-01', 5);
SELECT * FROM prod.differences('parted');
ALTER TABLE prod.parted DETACH PARTITION prod.parted_2025;
SELECT * FROM prod.differences('parted');
INSERT INTO prod.parted_2025 VALUES (7001, 1, '2025-01-02', 1);
TRUNCATE prod.parted_2025;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'prod.parted_2025'::regclass;
SELECT * FROM prod.differences('parted');
DROP TABLE prod.parted_2026;
SELECT * FROM prod.differences('parted');
TRUNCATE prod.parted;
SELECT * FROM prod.differences('parted');
SELECT prod.stored_differences('parted');

-- a dropped orders table takes its attachment with it; so does a schema
DROP TABLE prod.parted;
SELECT count(*) AS parted_attachments FROM attachments WHERE attachment_name = 'parted';
SELECT count(*) AS parted_state_left FROM pg_class WHERE relname = 'parted_state' AND relnamespace = 'prod'::regnamespace;
DROP SCHEMA prod CASCADE;
SELECT count(*) AS attachments_left FROM attachments WHERE attachment_name IN ('plain', 'secret', 'blind', 'tiered');
RESET segment.as_of;
RESET client_min_messages;
