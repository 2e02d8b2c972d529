-- Customer tags: a maintained attachment with a customers table stores the
-- segments of its attribute rules (rules the customer's row alone decides)
-- in <attachment>_tags, kept by a trigger on the customers table.  Proves:
-- which rules are attribute rules; after inserts, updates (attributes, key,
-- other columns, upserts), deletes and truncates of customers, and after
-- defining, redefining and dropping rules, the stored tags equal the rules
-- evaluated when read by a second, unmaintained attachment of the same
-- tables (and, once, plain WHERE clauses); the views answer what the
-- unmaintained ones do; an attribute rule's segment view finds its members
-- through the tags' GIN index; behavioural rules stay judged when read; a
-- partitioned customers table works; bad input (NULL attributes, a rule
-- that fails for a customer, customers tables that cannot have tags) gives
-- clear errors; stop_maintaining and detach drop what was made.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
SET segment.as_of = '2025-01-01';

CREATE SCHEMA tags;
-- the key is not named customer_id: the views and rules call it that
CREATE TABLE tags.customers (id bigint PRIMARY KEY, city text, plan text, age integer, signup date, note text);
CREATE TABLE tags.orders (customer_id bigint, ordered_at timestamptz, amount numeric(10, 2), category text);
CREATE INDEX ON tags.orders (customer_id);
INSERT INTO tags.customers
SELECT c, CASE WHEN c % 17 = 0 THEN NULL ELSE (ARRAY['Istanbul', 'Izmir', 'Ankara', 'Bursa'])[1 + c % 4] END,
	   (ARRAY['free', 'pro', 'team', 'enterprise'])[1 + (c / 3) % 4],
	   CASE WHEN c % 23 = 0 THEN NULL ELSE 18 + c % 53 END,
	   date '2024-01-01' + (c % 400), NULL
FROM generate_series(1, 3000) c;
INSERT INTO tags.orders
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 400, hours => k),
	   (5 + (hashint8(c * 100 + k)::bigint & 1023) / 10.0)::numeric(10, 2), (ARRAY['books', 'music'])[1 + (c + k) % 2]
FROM generate_series(1, 2600) c, generate_series(1, 1 + c % 4) k;
ANALYZE tags.customers, tags.orders;

-- 'tagged' is maintained and stores its attribute rules; 'plain' judges
-- the same rules over the same tables when read
SELECT count(*) AS views FROM attach('tagged', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.customers', 'id');
SELECT count(*) AS views FROM attach('plain', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.customers', 'id');
CREATE FUNCTION tags.define(rule_name text, expression text) RETURNS void LANGUAGE sql AS $$
	SELECT define_segment_rule('tagged', rule_name, expression);
	SELECT define_segment_rule('plain', rule_name, expression);
$$;
CREATE FUNCTION tags.drop(rule_name text) RETURNS void LANGUAGE sql AS $$
	SELECT drop_segment_rule('tagged', rule_name);
	SELECT drop_segment_rule('plain', rule_name);
$$;
SELECT tags.define('Istanbul', $$city = 'Istanbul'$$);
SELECT tags.define('Young pro', $$plan = 'pro' AND age < 30$$);
SELECT tags.define('No city', 'city IS NULL');
SELECT tags.define('Key ends in 7', 'customer_id % 10 = 7');
SELECT tags.define($$Ankara "team" it's$$, $$customer.city = 'Ankara' AND plan = 'team'$$);
SELECT tags.define('Recent', 'recency_days <= 30');
SELECT tags.define('New signups', $$signup > segment_as_of() - interval '60 days'$$);
SELECT tags.define('Books buyers',
	$$EXISTS (SELECT 1 FROM tags.orders o WHERE o.customer_id = customer.customer_id AND o.category = 'books')$$);
SELECT tags.define('Local time', $$signup < now()$$);
SELECT maintain_attachment('tagged');

-- attribute rules: the customers table's columns alone, nothing that changes
-- by itself; the others (derived columns, subqueries, now(),
-- segment_as_of()) are behavioural and judged when read
SELECT r.rule_name, segment_rule_is_attribute(r.expression, 'tags.customers', 'id') AS attribute,
	   r.rule_name IN (SELECT rule_name FROM segment_internal.customer_tag_rules('tagged')) AS stored
FROM segment_rules r WHERE r.attachment_name = 'tagged' ORDER BY r.rule_name COLLATE "C";
SELECT tags_table, state_table FROM attachments WHERE attachment_name = 'tagged';
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'tags.customers'::regclass ORDER BY 1;

-- the stored tags against plain WHERE clauses over the customers table
SELECT count(*) AS tagged_pairs, (SELECT count(*) FROM (
	(SELECT customer_id, unnest(segment_set_labels(segments)) FROM tags.tagged_tags
	 EXCEPT
	 (SELECT id, 'Istanbul' FROM tags.customers WHERE city = 'Istanbul'
	  UNION ALL SELECT id, 'Young pro' FROM tags.customers WHERE plan = 'pro' AND age < 30
	  UNION ALL SELECT id, 'No city' FROM tags.customers WHERE city IS NULL
	  UNION ALL SELECT id, 'Key ends in 7' FROM tags.customers WHERE id % 10 = 7
	  UNION ALL SELECT id, $$Ankara "team" it's$$ FROM tags.customers WHERE city = 'Ankara' AND plan = 'team'))
	UNION ALL
	((SELECT id, 'Istanbul' FROM tags.customers WHERE city = 'Istanbul'
	  UNION ALL SELECT id, 'Young pro' FROM tags.customers WHERE plan = 'pro' AND age < 30
	  UNION ALL SELECT id, 'No city' FROM tags.customers WHERE city IS NULL
	  UNION ALL SELECT id, 'Key ends in 7' FROM tags.customers WHERE id % 10 = 7
	  UNION ALL SELECT id, $$Ankara "team" it's$$ FROM tags.customers WHERE city = 'Ankara' AND plan = 'team')
	 EXCEPT
	 SELECT customer_id, unnest(segment_set_labels(segments)) FROM tags.tagged_tags)) d) AS differences
FROM (SELECT unnest(segment_set_labels(segments)) FROM tags.tagged_tags) p;
SELECT count(*) AS untagged_rows FROM tags.tagged_tags WHERE segments = '{}';

-- the stored tags against the unmaintained attachment's memberships of the
-- attribute rules; the views that show rule segments, of both attachments
-- (functions: the attachments' views are rebuilt as the rules change)
CREATE FUNCTION tags.tag_differences() RETURNS TABLE (tagged_pairs bigint, differences bigint) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE $q$
	WITH stored AS MATERIALIZED (
		SELECT customer_id, unnest(segment_set_labels(segments)) AS segment FROM tags.tagged_tags
	), judged AS MATERIALIZED (
		SELECT customer_id, segment FROM tags.plain_segment_members
		WHERE kind = 'rule' AND segment IN (SELECT rule_name FROM segment_internal.customer_tag_rules('tagged'))
	)
	SELECT (SELECT count(*) FROM stored),
		   (SELECT count(*) FROM ((SELECT * FROM stored EXCEPT ALL SELECT * FROM judged)
								  UNION ALL (SELECT * FROM judged EXCEPT ALL SELECT * FROM stored)) d)$q$;
END $$;
-- whole rows, or once customers changed (the unmaintained attachment
-- scores against the customers table's customers of the moment, the
-- maintained one against those of its last refresh) what rules decide: each
-- customer's rule segments in the customers view, the rule memberships and
-- summaries, the members of each rule's view
CREATE FUNCTION tags.view_differences(whole_rows boolean) RETURNS TABLE (view_name text, differences bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	rules text := (SELECT format('%L', array_agg(rule_name)) FROM segment_rules WHERE attachment_name = 'tagged');
	v text;
	compared text;
BEGIN
	FOR v IN SELECT unnest(ARRAY['customers', 'segment_members', 'segment_summary'])
			 UNION ALL SELECT 'segment_' || segment_internal.segment_slug(rule_name) FROM segment_rules WHERE attachment_name = 'tagged'
	LOOP
		compared := CASE WHEN whole_rows THEN 'SELECT * FROM tags.%1$I'
						 WHEN v = 'customers' THEN 'SELECT customer_id, s FROM tags.%1$I, unnest(segments) s
												   WHERE s = ANY (' || rules || ')'
						 WHEN v = 'segment_members' THEN 'SELECT customer_id, segment FROM tags.%1$I WHERE kind = ''rule'''
						 WHEN v = 'segment_summary' THEN 'SELECT segment, member_customers, member_orders, member_revenue FROM tags.%1$I WHERE kind = ''rule'''
						 ELSE 'SELECT customer_id FROM tags.%1$I' END;
		view_name := v;
		EXECUTE format('WITH p AS MATERIALIZED (' || compared || '), t AS MATERIALIZED (' || replace(compared, '%1$I', '%2$I') || ')
						SELECT count(*) FROM ((SELECT * FROM p EXCEPT ALL SELECT * FROM t)
											  UNION ALL (SELECT * FROM t EXCEPT ALL SELECT * FROM p)) d',
					   left('plain_' || v, 63), left('tagged_' || v, 63)) INTO differences;
		RETURN NEXT;
	END LOOP;
END $$;
SELECT * FROM tags.tag_differences();
SELECT * FROM tags.view_differences(whole_rows => true);
SELECT customer_id, city, plan, age, segments FROM tags.tagged_customers WHERE customer_id IN (7, 17, 27) ORDER BY 1;
-- an attribute rule with comments (one ending its text) is stored and
-- judged as the rule without them
SELECT tags.define('Istanbul commented', $$city /* ) ; */ = 'Istanbul' -- the city$$);
SELECT count(*) AS tagged, (SELECT count(*) FROM ((
	SELECT customer_id FROM tags.tagged_tags WHERE segments ? 'Istanbul commented'
	EXCEPT ALL SELECT customer_id FROM tags.tagged_tags WHERE segments ? 'Istanbul') UNION ALL (
	SELECT customer_id FROM tags.tagged_tags WHERE segments ? 'Istanbul'
	EXCEPT ALL SELECT customer_id FROM tags.tagged_tags WHERE segments ? 'Istanbul commented')) d) AS differences
FROM tags.tagged_tags WHERE segments ? 'Istanbul commented';
SELECT * FROM tags.tag_differences();
SELECT * FROM tags.view_differences(whole_rows => true);
SELECT tags.drop('Istanbul commented');

-- an attribute rule's segment view is a lookup in the tags' GIN index, then
-- one lookup of each member in the customers view (customers, state and
-- tags by key); a behavioural rule's view does not read the tags' GIN index
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END $$;
-- how a query reads the tables that hold customers: the indexes it scans,
-- or "Seq Scan on" a table (the one-row lookup of the attachment's
-- configuration is left out: its plan follows that table's statistics)
CREATE FUNCTION pg_temp.scans_of(query text) RETURNS TABLE (scan text) LANGUAGE sql AS $$
	SELECT DISTINCT coalesce(substring(line FROM 'Index (?:Only )?Scan on ([a-z_0-9]+)'),
							 substring(line FROM 'Scan using ([a-z_0-9]+)'),
							 substring(line FROM '(Seq Scan on [a-z_0-9]+)'))
	FROM pg_temp.plan_of(query) line
	WHERE line ~ '(Scan using|Index Scan on|Index Only Scan on|Seq Scan on)'
	  AND line !~ ' on attachments(_pkey)?( |$)'
	ORDER BY 1
$$;
SET enable_seqscan = off;
SELECT * FROM pg_temp.scans_of('SELECT * FROM tags.tagged_segment_istanbul');
SELECT count(*) AS tag_reads FROM pg_temp.plan_of('SELECT * FROM tags.tagged_segment_recent') line WHERE line ~ 'tags_segments_idx';
RESET enable_seqscan;
-- a filter on the key of a segment view is a lookup in the tags by key
SELECT * FROM pg_temp.scans_of('SELECT customer_id FROM tags.tagged_segment_istanbul WHERE customer_id = 44');
-- one customer: index lookups in the customers, state and tags tables
SELECT * FROM pg_temp.scans_of('SELECT segments FROM tags.tagged_customers WHERE customer_id = 42');

-- inserts: new customers in and out of segments, NULL attributes, upserts
INSERT INTO tags.customers VALUES
	(5001, 'Istanbul', 'pro', 25, '2024-12-20', NULL), (5002, NULL, NULL, NULL, NULL, NULL),
	(5003, 'Ankara', 'team', 40, '2024-06-01', 'x'), (5004, 'Paris', 'free', 70, '2024-06-01', NULL),
	(5007, 'Bursa', 'pro', 29, NULL, NULL);
INSERT INTO tags.customers SELECT c, 'Istanbul', 'pro', 20, '2024-01-01', NULL FROM generate_series(6000, 6199) c;
INSERT INTO tags.customers VALUES (5004, 'Istanbul', 'free', 70, NULL, NULL), (5005, 'Izmir', 'pro', 22, NULL, NULL)
ON CONFLICT (id) DO UPDATE SET city = excluded.city;
SELECT customer_id, segments FROM tags.tagged_tags WHERE customer_id BETWEEN 5001 AND 5007 ORDER BY 1;
SELECT * FROM tags.tag_differences();

-- updates: attributes into and out of segments, to NULL, other columns,
-- keys moved (to new keys and to keys freed by an earlier statement)
UPDATE tags.customers SET city = 'Istanbul' WHERE id % 11 = 0;
UPDATE tags.customers SET plan = 'free' WHERE plan = 'pro' AND id % 3 = 0;
UPDATE tags.customers SET age = NULL WHERE id % 19 = 0;
UPDATE tags.customers SET city = NULL WHERE id % 29 = 0;
UPDATE tags.customers SET note = 'seen' WHERE id % 5 = 0;
UPDATE tags.customers SET id = id + 100000 WHERE id % 13 = 0;
UPDATE tags.customers SET id = id - 100000 WHERE id > 100000 AND id % 2 = 0;
UPDATE tags.customers SET id = 200000 + id, city = 'Ankara', plan = 'team' WHERE id BETWEEN 6000 AND 6049;
SELECT * FROM tags.tag_differences();
SELECT count(*) AS moved_keys_tagged FROM tags.tagged_tags WHERE customer_id > 100000;

-- deletes
DELETE FROM tags.customers WHERE id % 7 = 0 OR id BETWEEN 6100 AND 6199;
SELECT * FROM tags.tag_differences();
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);
-- the deleted customers' orders stay: the maintained attachment's refreshed
-- thresholds leave them out, as the unmaintained one does, and whole rows
-- agree again
SELECT refresh_attachment_thresholds('tagged') IS NOT NULL AS refreshed;
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => true);

-- rules: a new attribute rule, one redefined, one turned behavioural and
-- one turned attribute, one dropped; the trigger follows each
SELECT tags.define('Over 60', 'age > 60');
SELECT * FROM tags.tag_differences();
SELECT tags.define('Istanbul', $$city IN ('Istanbul', 'Izmir')$$);
SELECT * FROM tags.tag_differences();
SELECT tags.define('Young pro', $$plan = 'pro' AND age < 30 AND recency_days < 100$$);
SELECT tags.define('Recent', $$lower(city) = 'bursa'$$);
SELECT rule_name FROM segment_internal.customer_tag_rules('tagged');
SELECT * FROM tags.tag_differences();
SELECT tags.drop('No city');
SELECT * FROM tags.tag_differences();
INSERT INTO tags.customers VALUES (7001, 'Bursa', 'pro', 28, NULL, NULL), (7002, NULL, 'pro', 61, NULL, NULL);
UPDATE tags.customers SET city = 'Izmir' WHERE id % 31 = 0;
SELECT * FROM tags.tag_differences();
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);
-- rebuilding the views with the same rules leaves the trigger and tags alone
SELECT oid AS trigger_oid FROM pg_trigger WHERE tgname = 'segment_tagged_tags' \gset
SELECT count(*) AS views FROM rebuild_attachment_views('tagged');
SELECT oid = :trigger_oid AS same_trigger FROM pg_trigger WHERE tgname = 'segment_tagged_tags';

-- a write the trigger does not see (triggers disabled) is corrected by
-- refresh_customer_tags, which returns the rows it rewrote
ALTER TABLE tags.customers DISABLE TRIGGER segment_tagged_tags;
UPDATE tags.customers SET city = 'Istanbul' WHERE id BETWEEN 100 AND 119;
DELETE FROM tags.customers WHERE id BETWEEN 120 AND 124;
ALTER TABLE tags.customers ENABLE TRIGGER segment_tagged_tags;
SELECT differences > 0 AS stale FROM tags.tag_differences();
SELECT refresh_customer_tags('tagged') AS rewritten;
SELECT * FROM tags.tag_differences();
SELECT refresh_customer_tags('tagged') AS rewritten_again;

-- truncate empties the tags; customers loaded again are tagged
TRUNCATE tags.customers;
SELECT count(*) AS tag_rows FROM tags.tagged_tags;
INSERT INTO tags.customers
SELECT c, (ARRAY['Istanbul', 'Bursa', NULL])[1 + c % 3], (ARRAY['pro', 'team'])[1 + c % 2], 18 + c % 60, NULL, NULL
FROM generate_series(1, 1500) c;
SELECT * FROM tags.tag_differences();
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);

-- without attribute rules there is no trigger and no tag; with one again,
-- both come back
SELECT tags.drop(rule_name) FROM segment_internal.customer_tag_rules('tagged');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'tags.customers'::regclass AND tgname LIKE 'segment_tagged%';
SELECT count(*) AS tag_rows FROM tags.tagged_tags;
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);
SELECT tags.define('Istanbul', $$city = 'Istanbul'$$);
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'tags.customers'::regclass AND tgname LIKE 'segment_tagged%';
SELECT * FROM tags.tag_differences();

-- a behavioural rule stays judged when read: time alone changes it
SELECT tags.define('Recent', 'recency_days <= 30');
SELECT count(*) AS recent_in_january FROM tags.tagged_segment_recent;
SET segment.as_of = '2025-03-01';
SELECT count(*) AS recent_in_march, (SELECT count(*) FROM tags.plain_segment_recent) AS plain_in_march
FROM tags.tagged_segment_recent;
SET segment.as_of = '2025-01-01';

-- bad input.  A rule that fails for some customer is refused when defined,
-- and nothing changes; one that fails for a customer written later fails
-- that write, naming the customer and the attachment
SELECT tags.define('Ratio', '100 / (age - 20) > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM segment_rules WHERE rule_name = 'Ratio';
DELETE FROM tags.customers WHERE age = 20;
SELECT tags.define('Ratio', '100 / (age - 20) > 1');
CREATE FUNCTION tags.failure(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	message text;
	context text;
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, context = PG_EXCEPTION_CONTEXT;
	RETURN SQLSTATE || ' ' || message || ' / ' || substring(context FROM 'storing [^\n]*');
END $$;
SELECT tags.failure($$INSERT INTO tags.customers VALUES (8000, 'Bursa', 'pro', 20, NULL, NULL)$$);
SELECT tags.failure($$UPDATE tags.customers SET age = 20 WHERE id = 5$$);
SELECT count(*) AS written FROM tags.customers WHERE id = 8000 OR age = 20;
SELECT tags.drop('Ratio');
-- rule names too long for a segment_set label stay judged when read
SELECT tags.define(repeat('x', 256), 'age > 70');
SELECT count(*) AS stored FROM segment_internal.customer_tag_rules('tagged') WHERE rule_name = repeat('x', 256);
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);
SELECT tags.drop(repeat('x', 256));
-- the classifier: NULL gives NULL, columns it does not have give false, not
-- one expression is an error
SELECT segment_rule_is_attribute(NULL, 'tags.customers', 'id') AS null_expression,
	   segment_rule_is_attribute('nothing = 1', 'tags.customers', 'id') AS unknown_column,
	   segment_rule_is_attribute('age', 'tags.customers', 'id') AS not_boolean,
	   segment_rule_is_attribute('id = 1', 'tags.customers', 'id') AS key_by_its_own_name,
	   segment_rule_is_attribute('city = ''x''', 'tags.customers', 'no_such_key') AS unknown_key,
	   segment_rule_is_attribute('count(*) > 1', 'tags.customers', 'id') AS aggregate,
	   segment_rule_is_attribute('random() < 0.5', 'tags.customers', 'id') AS volatile,
	   segment_rule_is_attribute($$signup::timestamptz < '2024-06-01'$$, 'tags.customers', 'id') AS time_zone_cast,
	   segment_rule_is_attribute($$signup < '2024-06-01' AND lower(city) LIKE 'i%'$$, 'tags.customers', 'id') AS immutable;
SELECT segment_rule_is_attribute('true) FROM pg_authid --', 'tags.customers', 'id');
\echo :LAST_ERROR_SQLSTATE
-- customers tables that cannot have tags: maintaining warns and judges the
-- rules when read; asking for tags is an error that says why
CREATE TABLE tags.no_key (id bigint, city text);
CREATE TABLE tags.deferred (id bigint UNIQUE DEFERRABLE, city text);
CREATE TABLE tags.nullable (id bigint UNIQUE, city text);
CREATE VIEW tags.customer_view AS SELECT id, city FROM tags.customers;
INSERT INTO tags.no_key SELECT id, city FROM tags.customers;
SELECT count(*) AS views FROM attach('nokey', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.no_key', 'id');
SELECT define_segment_rule('nokey', 'Istanbul', $$city = 'Istanbul'$$);
SELECT maintain_attachment('nokey');
SELECT tags_table FROM attachments WHERE attachment_name = 'nokey';
SELECT count(*) AS members, (SELECT count(*) FROM tags.no_key WHERE city = 'Istanbul') AS by_hand
FROM tags.nokey_segment_istanbul;
SELECT refresh_customer_tags('nokey');
\echo :LAST_ERROR_SQLSTATE
SELECT detach('nokey');
SELECT count(*) AS views FROM attach('deferred', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.deferred', 'id');
SELECT count(*) AS views FROM attach('nullable', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.nullable', 'id');
SELECT count(*) AS views FROM attach('viewed', 'tags.orders', 'customer_id', 'ordered_at', 'amount', 'tags.customer_view', 'id');
SELECT n AS attachment, customer_tags_obstacle(n) FROM unnest(ARRAY['deferred', 'nullable', 'viewed']) n;
-- the warning's hint fits a view
SELECT maintain_attachment('viewed') IS NOT NULL AS maintained;
SELECT customer_tags_obstacle('plain') IS NULL AS plain_could, customer_tags_obstacle('nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT refresh_customer_tags('plain');
\echo :LAST_ERROR_SQLSTATE
SELECT detach(n) FROM unnest(ARRAY['deferred', 'nullable', 'viewed']) n;

-- a partitioned customers table: the trigger on each partition, keys moving
-- between partitions
CREATE TABLE tags.parted (id integer PRIMARY KEY, city text) PARTITION BY RANGE (id);
CREATE TABLE tags.parted_low PARTITION OF tags.parted FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE tags.parted_high (city text, id integer NOT NULL);
ALTER TABLE tags.parted ATTACH PARTITION tags.parted_high FOR VALUES FROM (1000) TO (MAXVALUE);
CREATE TABLE tags.parted_orders (customer_id integer, ordered_at timestamptz, amount numeric);
CREATE INDEX ON tags.parted_orders (customer_id);
INSERT INTO tags.parted SELECT c, (ARRAY['Istanbul', 'Bursa'])[1 + c % 2] FROM generate_series(1, 1990, 3) c;
INSERT INTO tags.parted_orders SELECT c, '2024-12-01', c FROM generate_series(1, 1990, 6) c;
SELECT count(*) AS views FROM attach('parted', 'tags.parted_orders', 'customer_id', 'ordered_at', 'amount', 'tags.parted', 'id');
SELECT define_segment_rule('parted', 'Istanbul', $$city = 'Istanbul'$$);
SELECT maintain_attachment('parted');
UPDATE tags.parted SET id = id + 1000 WHERE id < 500;
UPDATE tags.parted SET city = 'Istanbul' WHERE id % 5 = 0;
DELETE FROM tags.parted_high WHERE id % 7 = 0;
INSERT INTO tags.parted_low VALUES (2, 'Istanbul');
SELECT count(*) AS tagged, (SELECT count(*) FROM (
	(SELECT customer_id FROM tags.parted_tags EXCEPT SELECT id FROM tags.parted WHERE city = 'Istanbul')
	UNION ALL (SELECT id FROM tags.parted WHERE city = 'Istanbul' EXCEPT SELECT customer_id FROM tags.parted_tags)) d)
	AS differences
FROM tags.parted_tags;
SELECT count(*) AS members FROM tags.parted_segment_istanbul;
TRUNCATE tags.parted;
SELECT count(*) AS tagged FROM tags.parted_tags;

-- stopping drops the triggers and the tags table; the views judge rules
-- when read again
SELECT stop_maintaining('tagged');
SELECT count(*) AS tag_tables FROM pg_class WHERE relname IN ('tagged_tags', 'tagged_state');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'tags.customers'::regclass;
SELECT tags_table FROM attachments WHERE attachment_name = 'tagged';
SELECT count(*) AS views, sum(differences) AS differences FROM tags.view_differences(whole_rows => false);
SELECT maintain_attachment('tagged');
SELECT * FROM tags.tag_differences();
SELECT detach('tagged');
SELECT detach('parted');
SELECT count(*) AS tag_tables FROM pg_class WHERE relname IN ('tagged_tags', 'parted_tags');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid IN ('tags.customers'::regclass, 'tags.parted_low'::regclass);
SELECT detach('plain');
SET client_min_messages = warning;
DROP SCHEMA tags CASCADE;
RESET client_min_messages;
