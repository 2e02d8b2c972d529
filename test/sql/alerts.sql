-- Growth alerts.  Five new customers a day, each with one order: the
-- lifecycle stage new fills for 30 days, then as many leave it (for
-- active) as enter it each day.  The alerts are checked every morning once
-- that is steady: no alert.  Then a day brings 40 new customers: the
-- morning after, exactly the two alerts of the new stage (its size moved
-- by more than 20%, its net change lies far from the 28 days before), and
-- none for active, whose day was like the others; the mornings after
-- raise nothing (an open alert is not raised again, and the spike passed).
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS segment;
CREATE SCHEMA al;
SET search_path = al, public;
SET TimeZone = 'UTC';
CREATE TABLE orders (id serial PRIMARY KEY, customer integer NOT NULL, at timestamptz NOT NULL, amount numeric NOT NULL);
CREATE INDEX ON orders (customer);
SET segment.as_of = '2025-01-01 12:00';
INSERT INTO orders (customer, at, amount) SELECT c, '2025-01-01 10:00', 10 FROM generate_series(1, 5) c;
SELECT count(*) > 0 FROM attach('al', 'al.orders', 'customer', 'at', 'amount');
SELECT maintain_attachment('al');
SELECT set_segment_alert('al', 'new', change_percent => 20, z_score => 4);
SELECT set_segment_alert('al', 'active', z_score => 4);
SELECT segment, change_percent, change_period, z_score FROM segment_alert_rules ORDER BY segment;

CREATE TABLE raised (morning date, segment text, kind text, rule text, observed double precision, expected double precision);
CREATE TABLE days AS
SELECT d::date AS day, CASE WHEN d = '2025-02-16' THEN 40 ELSE 5 END AS customers
FROM generate_series('2025-01-02'::date, '2025-02-19', '1 day') d;
-- each day's customers at 10:00, each morning's check (from 7 February)
\set ECHO none
SELECT format('SET segment.as_of = %L', day + time '10:00'),
	   format('INSERT INTO al.orders (customer, at, amount) SELECT %s + c, %L, 10 FROM generate_series(1, %s) c',
			  (SELECT coalesce(sum(customers), 0) + 5 FROM days e WHERE e.day < d.day), day + time '10:00', customers),
	   format('SET segment.as_of = %L', day + 1 + time '00:05'),
	   CASE WHEN day >= '2025-02-06' THEN
		   format('INSERT INTO al.raised SELECT %L, segment, kind, rule, observed, expected FROM check_segment_alerts(''al'')', day + 1)
	   ELSE 'SELECT refresh_due_segments(''al'') WHERE false' END
FROM days d ORDER BY day \gexec
\set ECHO all

SELECT count(*) AS mornings_checked FROM days WHERE day >= '2025-02-06';
SELECT morning, segment, kind, rule, observed, round(expected::numeric, 2) AS expected FROM raised ORDER BY morning, rule;
SELECT segment, kind, rule, observed, at FROM segment_open_alerts ORDER BY rule;
-- the sizes behind them
SELECT day, members, entered, "left" FROM al_segment_sizes
WHERE segment = 'new' AND day BETWEEN '2025-02-14' AND '2025-02-17' ORDER BY day;
-- acknowledged, they may be raised again: not now, the spike passed
SELECT acknowledge_segment_alerts('al');
SELECT count(*) AS open_alerts FROM segment_open_alerts;
SELECT count(*) AS raised_again FROM check_segment_alerts('al');
-- a segment that empties is a change too; a second check at the same
-- instant raises nothing
SELECT acknowledge_segment_alerts('al');
SET segment.as_of = '2025-02-21 08:00';
TRUNCATE orders;
SELECT segment, kind, rule, observed, expected FROM check_segment_alerts('al');
SELECT acknowledge_segment_alerts('al');
SELECT count(*) AS raised_at_the_same_instant FROM check_segment_alerts('al');
-- rules: dropping both, bad values
SELECT set_segment_alert('al', 'active');
SELECT segment FROM segment_alert_rules;
\set VERBOSITY sqlstate
SELECT set_segment_alert('al', 'new', change_percent => 0);
SELECT set_segment_alert('al', 'new', z_score => 'NaN');
SELECT set_segment_alert('al', 'new', change_percent => 10, change_period => '-1 day');
SELECT set_segment_alert('al', 'new', change_percent => 10, change_period => '300000 years');
SELECT set_segment_alert('al', NULL, change_percent => 10);
SELECT set_segment_alert('nope', 'new', change_percent => 10);
SELECT * FROM check_segment_alerts('nope');
\set VERBOSITY default
SELECT detach('al');
SELECT count(*) AS rules_left FROM segment_alert_rules;
SELECT count(*) AS alerts_left FROM segment_alerts;
DROP SCHEMA al CASCADE;
RESET segment.as_of;
