
-- alerts: segments that grow or shrink unusually (sql/alerts.sql)
--
-- Per segment of an attachment with history, two rules, either or both:
-- the size moved by more than a percentage over a period (Twilio's audience
-- alert), or the last whole day's net change (entered less left) is an
-- outlier against the 28 days before it (a z-score).  check_segment_alerts()
-- judges them at segment_as_of(), records what it raises in
-- segment_alerts and sends NOTIFY segment_alerts; an alert stays open, and
-- is not raised again, until acknowledged.

CREATE TABLE @extschema@.segment_alert_rules (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	segment text NOT NULL,
	change_percent double precision,
	change_period interval NOT NULL DEFAULT '1 day',
	z_score double precision,
	PRIMARY KEY (attachment_name, segment),
	CONSTRAINT segment_alert_rule_given CHECK (change_percent IS NOT NULL OR z_score IS NOT NULL),
	CONSTRAINT segment_alert_percent_positive CHECK (change_percent OPERATOR(pg_catalog.>) 0
		AND change_percent OPERATOR(pg_catalog.<) 'infinity'::pg_catalog.float8),
	CONSTRAINT segment_alert_period_positive CHECK (change_period OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
	CONSTRAINT segment_alert_z_positive CHECK (z_score OPERATOR(pg_catalog.>) 0
		AND z_score OPERATOR(pg_catalog.<) 'infinity'::pg_catalog.float8)
);
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_alert_rules' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
COMMENT ON TABLE @extschema@.segment_alert_rules IS
	'when check_segment_alerts() raises an alert for a segment: set_segment_alert() writes them';
COMMENT ON COLUMN @extschema@.segment_alert_rules.attachment_name IS 'the attachment';
COMMENT ON COLUMN @extschema@.segment_alert_rules.segment IS 'the segment, of any kind, by name';
COMMENT ON COLUMN @extschema@.segment_alert_rules.change_percent IS
	'alert when the size moved by more than this many percent over change_period; NULL: no such rule';
COMMENT ON COLUMN @extschema@.segment_alert_rules.change_period IS 'the period of change_percent';
COMMENT ON COLUMN @extschema@.segment_alert_rules.z_score IS
	'alert when the last whole day''s net change is more than this many standard deviations from the mean of the 28 days before; NULL: no such rule';

CREATE TABLE @extschema@.segment_alerts (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
	segment text NOT NULL,
	kind text NOT NULL,
	rule text NOT NULL CONSTRAINT segment_alert_rule_known CHECK (rule IN ('change', 'outlier')),
	observed double precision NOT NULL,
	expected double precision NOT NULL,
	at timestamptz NOT NULL,
	acknowledged_at timestamptz,
	PRIMARY KEY (attachment_name, segment, kind, rule, at)
);
-- one open alert per rule of a segment's kind, whoever checks at once
CREATE UNIQUE INDEX segment_alerts_open ON @extschema@.segment_alerts (attachment_name, segment, kind, rule)
	WHERE acknowledged_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_alerts' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
COMMENT ON TABLE @extschema@.segment_alerts IS 'the alerts check_segment_alerts() raised';
COMMENT ON COLUMN @extschema@.segment_alerts.attachment_name IS 'the attachment';
COMMENT ON COLUMN @extschema@.segment_alerts.segment IS 'the segment';
COMMENT ON COLUMN @extschema@.segment_alerts.kind IS 'rfm, lifecycle or rule';
COMMENT ON COLUMN @extschema@.segment_alerts.rule IS
	'change: the size moved by more than change_percent over change_period; outlier: the last whole day''s net change against the 28 days before';
COMMENT ON COLUMN @extschema@.segment_alerts.observed IS
	'change: the size at the analysis time; outlier: the day''s net change (entered less left)';
COMMENT ON COLUMN @extschema@.segment_alerts.expected IS
	'change: the size change_period before; outlier: the mean net change of the 28 days before';
COMMENT ON COLUMN @extschema@.segment_alerts.at IS 'the analysis time of the check that raised it';
COMMENT ON COLUMN @extschema@.segment_alerts.acknowledged_at IS
	'when acknowledge_segment_alerts() closed it; NULL while open (it is not raised again meanwhile)';

ALTER TABLE @extschema@.segment_alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.segment_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_alert_rules_read ON @extschema@.segment_alert_rules FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name));
CREATE POLICY segment_alert_rules_write ON @extschema@.segment_alert_rules FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name
					 AND segment_internal.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alert_rules.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));
CREATE POLICY segment_alerts_read ON @extschema@.segment_alerts FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name));
CREATE POLICY segment_alerts_write ON @extschema@.segment_alerts FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name
					 AND segment_internal.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_alerts.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));
COMMENT ON POLICY segment_alert_rules_read ON @extschema@.segment_alert_rules IS 'alert rules are visible with their attachment';
COMMENT ON POLICY segment_alert_rules_write ON @extschema@.segment_alert_rules IS
	'a role writes only alert rules of attachments of orders tables it owns';
COMMENT ON POLICY segment_alerts_read ON @extschema@.segment_alerts IS 'alerts are visible with their attachment';
COMMENT ON POLICY segment_alerts_write ON @extschema@.segment_alerts IS
	'a role raises and acknowledges only alerts of attachments of orders tables it owns';
GRANT SELECT ON @extschema@.segment_alert_rules, @extschema@.segment_alerts TO PUBLIC;

CREATE VIEW @extschema@.segment_open_alerts AS
	SELECT a.attachment_name, a.segment, a.kind, a.rule, a.observed, a.expected, a.at
	FROM @extschema@.segment_alerts a WHERE a.acknowledged_at IS NULL;
COMMENT ON VIEW @extschema@.segment_open_alerts IS 'the alerts not acknowledged yet';
-- read with the reader's rights (the policies of segment_alerts), which
-- needs PostgreSQL 15; before, only its owner reads it
DO $$
DECLARE
	open_alerts regclass := (SELECT c.oid FROM pg_catalog.pg_class c
							 WHERE c.relname OPERATOR(pg_catalog.=) 'segment_open_alerts'
							   AND c.relnamespace OPERATOR(pg_catalog.=) (SELECT e.extnamespace FROM pg_catalog.pg_extension e
																		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment'));
BEGIN
	IF pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000 THEN
		EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', open_alerts);
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO PUBLIC', open_alerts);
	END IF;
END
$$;

CREATE FUNCTION @extschema@.set_segment_alert(attachment_name text, segment text,
											  change_percent double precision DEFAULT NULL,
											  change_period interval DEFAULT '1 day',
											  z_score double precision DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM attachments t WHERE t.attachment_name = set_segment_alert.attachment_name) THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_segment_alert.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF segment IS NULL THEN
		RAISE EXCEPTION 'segment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF change_percent IS NULL AND z_score IS NULL THEN
		DELETE FROM segment_alert_rules r
		WHERE r.attachment_name = set_segment_alert.attachment_name AND r.segment = set_segment_alert.segment;
		RETURN;
	END IF;
	IF NOT (change_percent > 0 AND change_percent < 'infinity') OR NOT (z_score > 0 AND z_score < 'infinity')
	   OR change_period IS NULL OR change_period <= '0'::interval OR NOT isfinite(now() - change_period)
	   OR now() - change_period >= now() THEN
		RAISE EXCEPTION 'change_percent, change_period and z_score must be positive and finite'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO segment_alert_rules AS r (attachment_name, segment, change_percent, change_period, z_score)
	VALUES (set_segment_alert.attachment_name, set_segment_alert.segment, set_segment_alert.change_percent,
			set_segment_alert.change_period, set_segment_alert.z_score)
	ON CONFLICT ON CONSTRAINT segment_alert_rules_pkey DO UPDATE
	SET change_percent = excluded.change_percent, change_period = excluded.change_period, z_score = excluded.z_score;
END
$function$;
COMMENT ON FUNCTION @extschema@.set_segment_alert(text, text, double precision, interval, double precision) IS
	'sets when check_segment_alerts() raises an alert for a segment: its size moved by more than change_percent over change_period, or the last whole day''s net change lies more than z_score standard deviations from the 28 days before; both NULL drop the rules';

CREATE FUNCTION @extschema@.check_segment_alerts(attachment_name text) RETURNS SETOF @extschema@.segment_alerts
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	at timestamptz := segment_as_of();
	yesterday date;
	raised segment_alerts;
	r record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = check_segment_alerts.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', check_segment_alerts.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	PERFORM history_attachment(a.attachment_name, at);
	-- the days are written whole before they are read
	IF a.state_table IS NOT NULL THEN
		PERFORM refresh_due_segments(a.attachment_name);
	END IF;
	yesterday := (at AT TIME ZONE a.time_zone)::date - 1;
	FOR r IN
		-- the change rule: the size now and a period ago, per kind of the name
		-- (a kind with members at either time: a segment may empty or appear)
		SELECT c.segment, k.kind, 'change'::text AS rule, k.now::double precision AS observed,
			   k.before::double precision AS expected
		FROM segment_alert_rules c,
			 LATERAL (SELECT coalesce(n.kind, b.kind) AS kind, coalesce(n.members, 0) AS now,
							 coalesce(b.members, 0) AS before
					  FROM (SELECT m.kind, count(*) AS members FROM memberships_at(a.attachment_name, at, c.segment) m
							GROUP BY m.kind) n
						   FULL JOIN (SELECT m.kind, count(*) AS members
									  FROM memberships_at(a.attachment_name, greatest(at - c.change_period, a.history_since),
														  c.segment) m
									  GROUP BY m.kind) b ON b.kind = n.kind) k
		WHERE c.attachment_name = a.attachment_name AND c.change_percent IS NOT NULL
		  AND at - c.change_period >= a.history_since
		  AND k.now <> k.before AND (k.before = 0 OR abs(k.now - k.before) * 100.0 / k.before > c.change_percent)
		UNION ALL
		-- the outlier rule: yesterday's net change against the 28 days before
		SELECT c.segment, d.kind, 'outlier', d.observed, d.expected
		FROM segment_alert_rules c,
			 LATERAL (SELECT s.kind,
							 sum(s.entered - s."left") FILTER (WHERE s.day = yesterday)::double precision AS observed,
							 avg(s.entered - s."left") FILTER (WHERE s.day < yesterday)::double precision AS expected,
							 coalesce(stddev_samp(s.entered - s."left") FILTER (WHERE s.day < yesterday), 0) AS spread,
							 count(*) FILTER (WHERE s.day < yesterday) AS days
					  -- the history's first day counts what it started with as entered
					  FROM segment_sizes_rows(a, c.segment,
											  greatest(yesterday - 28, (a.history_since AT TIME ZONE a.time_zone)::date + 1),
											  yesterday) s
					  GROUP BY s.kind) d
		WHERE c.attachment_name = a.attachment_name AND c.z_score IS NOT NULL AND d.days >= 7
		  AND d.observed IS NOT NULL
		  AND abs(d.observed - d.expected) / greatest(d.spread, 1) > c.z_score
	LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM segment_alerts o
							  WHERE o.attachment_name = a.attachment_name AND o.segment = r.segment AND o.kind = r.kind
								AND o.rule = r.rule AND o.acknowledged_at IS NULL);
		raised := NULL;
		INSERT INTO segment_alerts (attachment_name, segment, kind, rule, observed, expected, at)
		VALUES (a.attachment_name, r.segment, r.kind, r.rule, r.observed, r.expected, at)
		ON CONFLICT DO NOTHING
		RETURNING * INTO raised;
		-- raised meanwhile by another check, or already at this instant
		CONTINUE WHEN raised.attachment_name IS NULL;
		PERFORM pg_notify('segment_alerts',
						  json_build_object('attachment', raised.attachment_name, 'segment', raised.segment,
											'kind', raised.kind, 'rule', raised.rule, 'observed', raised.observed,
											'expected', raised.expected, 'at', raised.at)::text);
		RETURN NEXT raised;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION @extschema@.check_segment_alerts(text) IS
	'judges the alert rules of an attachment''s segments at segment_as_of(), records the alerts raised in segment_alerts, sends NOTIFY segment_alerts with each as JSON, and returns them; an open alert is not raised again';

CREATE FUNCTION @extschema@.acknowledge_segment_alerts(attachment_name text, segment text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE sql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$
	WITH closed AS (
		UPDATE segment_alerts a SET acknowledged_at = segment_as_of()
		WHERE a.attachment_name = acknowledge_segment_alerts.attachment_name AND a.acknowledged_at IS NULL
		  AND (acknowledge_segment_alerts.segment IS NULL OR a.segment = acknowledge_segment_alerts.segment)
		RETURNING 1)
	SELECT count(*) FROM closed $$;
COMMENT ON FUNCTION @extschema@.acknowledge_segment_alerts(text, text) IS
	'closes the open alerts of an attachment (of one segment, if given); returns how many';

-- The rows of an attachment's segment_sizes for one segment name and days
-- (the view's query, filtered before its window).
CREATE FUNCTION segment_internal.segment_sizes_rows(a @extschema@.attachments, segment_name text, first_day date,
												   last_day date)
	RETURNS TABLE (segment text, kind text, day date, members bigint, entered bigint, "left" bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	RETURN QUERY EXECUTE format('SELECT s.segment, s.kind, s.day, s.members, s.entered, s."left" FROM (%s) s
								 WHERE s.segment = $1 AND s.day BETWEEN $2 AND $3',
								segment_sizes_view_query(a))
		USING segment_name, first_day, last_day;
END
$function$;
COMMENT ON FUNCTION segment_internal.segment_sizes_rows(@extschema@.attachments, text, date, date) IS
	'the rows of an attachment''s segment sizes for one segment name, between two days';
