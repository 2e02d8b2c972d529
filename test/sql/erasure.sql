-- Erasure: a customer deleted from the orders and customers tables is
-- erased by forget_customers() from every table the extension keeps, and
-- only the fact of an erasure is recorded.  The proof searches the text of
-- every row of every table of the extension and of the attachment (state,
-- tags, history) for the customer's key and values.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS segment;
CREATE SCHEMA er;
SET search_path = er, public;
SET TimeZone = 'UTC';
SET segment.as_of = '2025-06-01 00:00+00';
CREATE TABLE er_customers (customer_id bigint PRIMARY KEY, city text);
CREATE TABLE er_orders (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO er_customers SELECT c, (ARRAY['Berlin', 'Izmir'])[1 + c % 2] FROM generate_series(1, 200) c;
INSERT INTO er_orders
SELECT c, timestamptz '2025-01-01 00:00+00' + make_interval(days => (c * 7 + k * 13) % 150), 10 + c % 40 + k
FROM generate_series(1, 200) c, generate_series(1, 1 + c % 4) k;
CREATE INDEX ON er_orders (customer_id);
-- the customer to erase: an unusual key, city and amount
INSERT INTO er_customers VALUES (987654321, 'Zzyzx');
INSERT INTO er_orders VALUES (987654321, '2025-02-01 10:00+00', 4321.09), (987654321, '2025-05-01 10:00+00', 4321.09);
SELECT count(*) > 0 AS attached FROM attach('er_shop', 'er_orders', 'customer_id', 'ordered_at', 'amount',
											 'er_customers', 'customer_id');
SELECT define_segment_rule('er_shop', 'Not Izmir', $$city <> 'Izmir'$$);
SELECT maintain_attachment('er_shop') IS NOT NULL AS maintained;
-- days later the customer leaves the rule segment, and comes back: closed
-- intervals too
SET segment.as_of = '2025-06-10 00:00+00';
UPDATE er_customers SET city = 'Izmir' WHERE customer_id = 987654321;
SET segment.as_of = '2025-06-20 00:00+00';
UPDATE er_customers SET city = 'Zzyzx' WHERE customer_id = 987654321;
-- an unmaintained attachment keeps snapshots of its segments
SELECT count(*) > 0 AS attached FROM attach('er_plain', 'er_orders', 'customer_id', 'ordered_at', 'amount');
SELECT snapshot_segments('er_plain') > 0 AS snapshot;

-- every row of every table the extension keeps, as text, that holds one of
-- the customer's traces
CREATE FUNCTION pg_temp.traces() RETURNS TABLE (relation text, rows bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	r regclass;
BEGIN
	FOR r IN
		SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
		WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment') AND c.relkind IN ('r', 'p')
		UNION
		SELECT unnest(ARRAY[a.state_table, a.tags_table, a.history_table]) FROM attachments a
		WHERE a.attachment_name IN ('er_shop', 'er_plain')
	LOOP
		CONTINUE WHEN r IS NULL;
		relation := r::text;
		EXECUTE format('SELECT count(*) FROM %s t WHERE t::text ~ ''987654321|Zzyzx|4321\.09''', r) INTO rows;
		RETURN NEXT;
	END LOOP;
END $$;
SELECT relation, rows FROM pg_temp.traces() WHERE rows > 0 ORDER BY 1;

-- not while the customer's orders or row are there, nor before their deletion commits
SELECT forget_customer('er_shop', '987654321');
BEGIN;
DELETE FROM er_orders WHERE customer_id = 987654321;
DELETE FROM er_customers WHERE customer_id = 987654321;
SELECT forget_customer('er_shop', '987654321');
ROLLBACK;
-- the deletion, days later, closes the customer's intervals; they stay
SET segment.as_of = '2025-06-30 00:00+00';
DELETE FROM er_orders WHERE customer_id = 987654321;
DELETE FROM er_customers WHERE customer_id = 987654321;
SELECT count(*) > 0 AS intervals_left FROM er_shop_history WHERE customer_id = 987654321;
SELECT (SELECT count(*) FROM er_shop_history) AS history_before,
	   (SELECT count(*) FROM er_shop_history WHERE customer_id = 987654321) AS history_of_customer,
	   (SELECT count(*) FROM er_plain_history) AS snapshots_before,
	   (SELECT count(*) FROM er_plain_history WHERE customer_id = 987654321) AS snapshots_of_customer \gset
SELECT forget_customers('er_shop', ARRAY['987654321', '987654321']) AS erased,
	   forget_customer('er_plain', '987654321') AS erased_from_plain;
SELECT relation, rows FROM pg_temp.traces() WHERE rows > 0 ORDER BY 1;
-- the others are untouched
SELECT (SELECT count(*) FROM er_shop_history) = :history_before - :history_of_customer AS history_of_others_kept,
	   (SELECT count(*) FROM er_plain_history) = :snapshots_before - :snapshots_of_customer AS snapshots_of_others_kept;
-- what is recorded: that an erasure happened, and how many, not whom
SELECT attachment_name, customers, erased_at IS NOT NULL AS dated FROM segment_erasures ORDER BY 1;
-- keys never seen: nothing erased, nothing recorded
SELECT forget_customers('er_shop', ARRAY['99999', '099999']) AS unknown;
SELECT count(*) AS erasures FROM segment_erasures;
-- keys compare as their type does, whatever the search_path: citext in a
-- schema of its own, the customer's key in another case
CREATE SCHEMA er_types;
CREATE EXTENSION citext SCHEMA er_types;
CREATE TABLE er_citext_orders (customer_id er_types.citext, ordered_at timestamptz, amount numeric);
INSERT INTO er_citext_orders VALUES ('Bob', '2025-02-01', 10), ('Ann', '2025-03-01', 20);
SELECT count(*) > 0 AS attached FROM attach('er_ci', 'er_citext_orders', 'customer_id', 'ordered_at', 'amount');
SELECT snapshot_segments('er_ci') > 0 AS snapshot;
SELECT forget_customer('er_ci', 'BOB');
DELETE FROM er_citext_orders WHERE customer_id OPERATOR(er_types.=) 'bob'::er_types.citext;
SELECT forget_customer('er_ci', 'BOB') AS erased;
SELECT count(*) FILTER (WHERE lower(customer_id::text) = 'bob') AS bob, count(*) AS all_rows FROM er_ci_history;
SELECT detach('er_ci');
DROP TABLE er_citext_orders;
DROP EXTENSION citext;
DROP SCHEMA er_types;
-- bad calls
SELECT forget_customer('nowhere', '1');
SELECT forget_customers('er_shop', ARRAY[NULL]);
SELECT forget_customer('er_shop', 'not a number');
SELECT forget_customers('er_shop', '{}') AS nothing;
SELECT detach('er_shop'), detach('er_plain');
DROP SCHEMA er CASCADE;
RESET segment.as_of;
