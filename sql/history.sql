
-- history: the intervals over which each customer belonged to each segment
-- (sql/history.sql, src/history.c)
--
-- A history table holds, per customer and segment (kind rfm, lifecycle or
-- rule), the intervals [entered_at, left_at) of its membership, left_at
-- NULL while it lasts.  A maintained attachment writes it from triggers on
-- its state and tags tables, in the transaction that changes them, dated
-- at the analysis time of the write and, for what time alone did, at the
-- moment it happened (src/history.c).  An unmaintained attachment writes it
-- from snapshots of its customers view, whose instants it lists in
-- history_snapshots.  The functions that read it answer
-- for any instant since history_since.

CREATE FUNCTION segment_internal.segment_history_row() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_history_row() IS
	'row trigger of the state and tags tables of an attachment with history: works out the intervals a written row closes and opens';
CREATE FUNCTION segment_internal.segment_history_flush() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_history_flush() IS
	'statement trigger of the state and tags tables of an attachment with history: writes the intervals its rows closed and opened';

-- The statement segment_history_flush() writes the history with, given
-- keys of type key_type (the state's or the tags'): $1 keys, $2 kinds, $3
-- segments, $4 entered (NULL: the open interval of the segment ends at $5)
-- and $5 left (NULL: while a member).  An interval that would be empty
-- goes.  Every instant is taken no earlier than the latest the customer's
-- history of that kind held before the statement, so a transaction whose
-- analysis time is earlier than another's that already wrote the customer
-- is dated at that one's, and a customer's intervals never overlap.  The open
-- intervals end before the new ones are inserted (the uncorrelated
-- subquery runs first), so a segment left and entered again in one
-- statement keeps one open interval.  The open interval a change ends is
-- found by its key, one index probe per change, and then written by its
-- row address: joined to the changes, the open intervals were planned from
-- statistics of how many are open, which go stale (analyzed after a
-- TRUNCATE closed them all, the plan joined every open interval to every
-- change, for minutes).  Also the state and tags tables, whose triggers
-- alone may write it.  No row if the attachment keeps no history.
CREATE FUNCTION segment_internal.history_statements(attachment_name text, key_type regtype)
	RETURNS TABLE (write text, history regclass, state regclass, tags regclass)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	keys text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = history_statements.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL OR NOT relation_exists(a.history_table) THEN
		RETURN;
	END IF;
	keys := format('pg_catalog.unnest($1::%s[])', format_type(key_type, NULL));
	IF key_type IS DISTINCT FROM column_type(a.history_table, 'customer_id') THEN
		keys := format('(%s)::%s', keys, format_type(column_type(a.history_table, 'customer_id'), NULL));
	END IF;
	write := format($sql$WITH c AS MATERIALIZED (
	SELECT %2$s AS customer_id, pg_catalog.unnest($2::pg_catalog.text[]) AS kind,
		   pg_catalog.unnest($3::pg_catalog.text[]) AS segment,
		   pg_catalog.unnest($4::pg_catalog.timestamptz[]) AS entered_at,
		   pg_catalog.unnest($5::pg_catalog.timestamptz[]) AS left_at
), d AS MATERIALIZED (
	SELECT c.customer_id, c.kind, c.segment, c.entered_at IS NULL AS closing,
		   GREATEST(c.entered_at, l.latest) AS entered_at,
		   CASE WHEN c.left_at IS NOT NULL THEN GREATEST(c.left_at, l.latest) END AS left_at,
		   CASE WHEN c.entered_at IS NULL THEN
				(SELECT h.ctid FROM %1$s h
				 WHERE h.customer_id OPERATOR(pg_catalog.=) c.customer_id AND h.kind OPERATOR(pg_catalog.=) c.kind
				   AND h.segment OPERATOR(pg_catalog.=) c.segment AND h.left_at IS NULL) END AS open_interval
	FROM c, LATERAL (SELECT pg_catalog.max(GREATEST(h.entered_at, h.left_at)) AS latest FROM %1$s h
					 WHERE h.customer_id OPERATOR(pg_catalog.=) c.customer_id AND h.kind OPERATOR(pg_catalog.=) c.kind) l
), empty AS (
	DELETE FROM %1$s h USING d
	WHERE d.closing AND h.ctid OPERATOR(pg_catalog.=) d.open_interval AND h.entered_at OPERATOR(pg_catalog.>=) d.left_at
	RETURNING 1
), closed AS (
	UPDATE %1$s h SET left_at = d.left_at FROM d
	WHERE d.closing AND h.ctid OPERATOR(pg_catalog.=) d.open_interval AND h.entered_at OPERATOR(pg_catalog.<) d.left_at
	RETURNING 1
)
INSERT INTO %1$s (customer_id, kind, segment, entered_at, left_at)
SELECT d.customer_id, d.kind, d.segment, d.entered_at, d.left_at FROM d
WHERE NOT d.closing AND (d.left_at IS NULL OR d.left_at OPERATOR(pg_catalog.>) d.entered_at)
  AND (SELECT pg_catalog.count(*) FROM empty) OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM closed)
	  OPERATOR(pg_catalog.>=) 0
ON CONFLICT (customer_id, kind, segment) WHERE left_at IS NULL DO NOTHING$sql$,
		a.history_table, keys);
	history := a.history_table;
	state := a.state_table;
	tags := a.tags_table;
	RETURN NEXT;
END
$function$;
COMMENT ON FUNCTION segment_internal.history_statements(text, regtype) IS
	'the statement that ends and starts intervals of an attachment''s history, for keys of a type, never before the latest instant of a customer''s history; and the tables whose triggers may write it';

-- TRUNCATE of the state or tags table (which the extension itself never
-- does: it deletes): the memberships they held end at the analysis time.
-- Run by whoever truncates, with its rights.
CREATE FUNCTION segment_internal.history_truncated() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	kinds text[];
	at timestamptz := segment_as_of();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = TG_ARGV[0];
	IF NOT FOUND OR a.history_table IS NULL THEN
		RETURN NULL;
	END IF;
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'the analysis time must be a finite time to write the segment history'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Set segment.as_of to a finite time, or reset it.';
	END IF;
	kinds := CASE TG_RELID WHEN a.state_table THEN ARRAY['rfm', 'lifecycle'] WHEN a.tags_table THEN ARRAY['rule'] END;
	IF kinds IS NULL THEN
		RAISE EXCEPTION 'table % does not write the segment history of attachment "%"', TG_RELID::regclass, a.attachment_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	EXECUTE format('DELETE FROM %s h WHERE h.left_at IS NULL AND h.kind = ANY ($1) AND h.entered_at >= $2', a.history_table)
		USING kinds, at;
	EXECUTE format('UPDATE %s h SET left_at = $2 WHERE h.left_at IS NULL AND h.kind = ANY ($1)', a.history_table)
		USING kinds, at;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION segment_internal.history_truncated() IS
	'TRUNCATE trigger of the state and tags tables of an attachment with history: the memberships they held end at the analysis time';

-- The triggers that write the history of a maintained attachment, on its
-- state table and on its tags table where it has one; made again if
-- present.  Only rows whose memberships may have changed fire them.
CREATE FUNCTION segment_internal.install_history_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text := extension_schema();
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = install_history_triggers.attachment_name;
	PERFORM drop_history_triggers(a.attachment_name);
	IF a.history_table IS NULL OR a.state_table IS NULL THEN
		RETURN;
	END IF;
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s FOR EACH ROW WHEN (NEW.scored_at IS NOT NULL) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_in', a.state_table, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW WHEN ('
				   'OLD.scored_at IS NULL OR NEW.scored_at IS NULL OR OLD.valid_until OPERATOR(pg_catalog.<=) NEW.scored_at '
				   'OR OLD.lifecycle_stage IS DISTINCT FROM NEW.lifecycle_stage '
				   'OR OLD.segments OPERATOR(%s.<>) NEW.segments) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_up', a.state_table, ext, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s FOR EACH ROW WHEN (OLD.scored_at IS NOT NULL) '
				   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
				   'segment_' || a.attachment_name || '_history_out', a.state_table, a.attachment_name, 'state');
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_internal.segment_history_flush(%L)',
				   'segment_' || a.attachment_name || '_history', a.state_table, a.attachment_name);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION segment_internal.history_truncated(%L)',
				   'segment_' || a.attachment_name || '_history_truncate', a.state_table, a.attachment_name);
	IF a.tags_table IS NOT NULL AND relation_exists(a.tags_table) THEN
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE ON %s FOR EACH ROW '
					   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
					   'segment_' || a.attachment_name || '_history_row', a.tags_table, a.attachment_name, 'tags');
		EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW '
					   'WHEN (OLD.segments OPERATOR(%s.<>) NEW.segments) '
					   'EXECUTE FUNCTION segment_internal.segment_history_row(%L, %L)',
					   'segment_' || a.attachment_name || '_history_up', a.tags_table, ext, a.attachment_name, 'tags');
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION segment_internal.segment_history_flush(%L)',
					   'segment_' || a.attachment_name || '_history', a.tags_table, a.attachment_name);
		EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
					   'EXECUTE FUNCTION segment_internal.history_truncated(%L)',
					   'segment_' || a.attachment_name || '_history_truncate', a.tags_table, a.attachment_name);
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.install_history_triggers(text) IS
	'creates (again) the triggers that write the history of a maintained attachment on its state and tags tables';

CREATE FUNCTION segment_internal.drop_history_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t JOIN attachments a
			ON t.tgrelid IN (a.state_table, a.tags_table)
		WHERE a.attachment_name = drop_history_triggers.attachment_name
		  AND t.tgname LIKE 'segment\_' || a.attachment_name || '\_history%'
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.relation);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.drop_history_triggers(text) IS
	'drops the triggers that write the history of an attachment';

-- The attachment whose history is read at an instant; raises unless it
-- has one that covers the instant.
CREATE FUNCTION segment_internal.history_attachment(attachment_name text, at timestamptz)
	RETURNS @extschema@.attachments
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = history_attachment.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', history_attachment.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.history_table IS NULL OR NOT relation_exists(a.history_table) THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = CASE WHEN a.state_table IS NULL THEN 'Take snapshots with snapshot_segments().'
							  ELSE 'Start it with keep_segment_history().' END;
	END IF;
	IF at IS NULL THEN
		RAISE EXCEPTION 'the instant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT isfinite(at) OR at < a.history_since THEN
		RAISE EXCEPTION 'the segment history of attachment "%" covers % on, not %', a.attachment_name,
			a.history_since, at
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'It began then, or intervals that ended before then were pruned.';
	END IF;
	RETURN a;
END
$function$;
COMMENT ON FUNCTION segment_internal.history_attachment(text, timestamptz) IS
	'the attachment whose segment history is read at an instant; raises unless its history covers the instant';

-- The query of every membership (customer_id, of the key's own type,
-- kind, segment) of the customers of an attachment with history at the
-- instant at_sql, of the segment segment_sql (NULL: all), of these kinds
-- (NULL: all).
-- A maintained attachment's history is exact up to each customer's last
-- write; a customer whose stored values time alone has moved since (their
-- span ended by the instant) is judged at the instant from its state, as
-- the views judge it, until refresh_due_segments() writes those moves.
CREATE FUNCTION segment_internal.memberships_at_sql(a @extschema@.attachments, kinds text[], at_sql text,
													segment_sql text) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE WHEN a.state_table IS NULL THEN format($sql$
		SELECT h.customer_id, h.kind, h.segment FROM %1$s h
		WHERE h.entered_at <= %3$s AND (h.left_at IS NULL OR h.left_at > %3$s)
		  AND (%4$s IS NULL OR h.segment = %4$s) AND h.kind = ANY (%2$L::text[])$sql$,
		a.history_table, coalesce(kinds, ARRAY['rfm', 'lifecycle', 'rule']), at_sql, segment_sql)
	ELSE format($sql$
		WITH expired AS MATERIALIZED (
			SELECT s.customer_id, s.stats FROM %1$s s
			WHERE s.valid_until <= %8$s AND s.scored_at < %8$s
		)
		SELECT h.customer_id, h.kind, h.segment FROM %2$s h
		WHERE h.entered_at <= %8$s AND (h.left_at IS NULL OR h.left_at > %8$s)
		  AND (%9$s IS NULL OR h.segment = %9$s) AND h.kind = ANY (%3$L::text[])
		  AND NOT (h.left_at IS NULL AND h.kind <> 'rule'
				   AND EXISTS (SELECT 1 FROM expired e WHERE e.customer_id = h.customer_id))
		UNION ALL
		SELECT e.customer_id, m.kind, m.segment
		FROM expired e, segment_internal.state_values(e.stats, %8$s, %4$L, %5$L, NULL, NULL, %6$L) v,
			 LATERAL (SELECT 'rfm'::pg_catalog.text, pg_catalog.unnest(%7$s.segment_set_labels(v.segments))
					  UNION ALL SELECT 'lifecycle', v.lifecycle_stage) m(kind, segment)
		WHERE (%9$s IS NULL OR m.segment = %9$s) AND m.kind = ANY (%3$L::text[])$sql$,
		a.state_table, a.history_table, coalesce(kinds, ARRAY['rfm', 'lifecycle', 'rule']),
		a.thresholds, a.cell_segments, a.lifecycle_limits, extension_schema(), at_sql, segment_sql) END $$;
COMMENT ON FUNCTION segment_internal.memberships_at_sql(@extschema@.attachments, text[], text, text) IS
	'the query of every segment membership of the customers of an attachment with history at an instant, of a segment or all (the SQL of both given), of some kinds; from the history and, for a maintained attachment, its state';

-- Every membership of every customer at an instant, as text keys; for an
-- unmaintained attachment, with a notice of the snapshot that answers.
CREATE FUNCTION segment_internal.memberships_at(attachment_name text, at timestamptz, only_segment text)
	RETURNS TABLE (customer_id text, kind text, segment text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := history_attachment(memberships_at.attachment_name, memberships_at.at);
BEGIN
	PERFORM snapshot_notice(a, memberships_at.at);
	RETURN QUERY EXECUTE format('SELECT m.customer_id::pg_catalog.text, m.kind, m.segment FROM (%s) m',
								memberships_at_sql(a, NULL, '$1', '$2::pg_catalog.text'))
		USING memberships_at.at, only_segment;
END
$function$;
COMMENT ON FUNCTION segment_internal.memberships_at(text, timestamptz, text) IS
	'every segment membership of every customer of an attachment at an instant, from its history (and, for a maintained attachment, its state), optionally of one segment';

-- Says which snapshot answers for an unmaintained attachment at an instant.
CREATE FUNCTION segment_internal.snapshot_notice(a @extschema@.attachments, at timestamptz) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF a.state_table IS NULL THEN
		RAISE NOTICE 'segments of attachment "%" as of its snapshot of %', a.attachment_name,
			(SELECT max(s) FROM unnest(a.history_snapshots) s WHERE s <= at)
			USING DETAIL = 'The attachment is not maintained: its history changes only when snapshot_segments() runs.';
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.snapshot_notice(@extschema@.attachments, timestamptz) IS
	'raises a notice naming the snapshot that answers for an unmaintained attachment at an instant';

CREATE FUNCTION @extschema@.segment_members_at(attachment_name text, segment text, at timestamptz)
	RETURNS TABLE (customer_id text, kind text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT m.customer_id, m.kind FROM segment_internal.memberships_at(attachment_name, at, segment) m
		  WHERE segment IS NOT NULL AND m.segment = segment $$;
COMMENT ON FUNCTION @extschema@.segment_members_at(text, text, timestamptz) IS
	'the customers (keys as text) who were in a segment (RFM, lifecycle stage or stored rule) of an attachment at an instant, and its kind';

-- The transition matrix between the primary segments of two instants: the
-- primary segment then is the first, in the order of the attachment's map,
-- of the RFM segments the customer then belonged to.  A customer is one
-- then if it has a lifecycle stage (it has orders); rule segments alone do
-- not make one.  Keys stay of their own type: the two sides are joined on
-- them.
CREATE FUNCTION @extschema@.segment_transitions(attachment_name text, from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (from_segment text, to_segment text, customers bigint)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments := history_attachment(segment_transitions.attachment_name, from_time);
BEGIN
	PERFORM history_attachment(a.attachment_name, to_time);
	PERFORM snapshot_notice(a, from_time);
	PERFORM snapshot_notice(a, to_time);
	RETURN QUERY EXECUTE format($sql$
		WITH map AS (
			SELECT b.segment_name, b.priority FROM %2$s.segment_map_boxes b WHERE b.map_name = %3$L
		), before AS (
			SELECT m.customer_id, min(b.priority) AS priority
			FROM (%1$s) m LEFT JOIN map b ON m.kind = 'rfm' AND b.segment_name = m.segment
			GROUP BY m.customer_id
		), after AS (
			SELECT m.customer_id, min(b.priority) AS priority
			FROM (%4$s) m LEFT JOIN map b ON m.kind = 'rfm' AND b.segment_name = m.segment
			GROUP BY m.customer_id
		)
		SELECT fb.segment_name, tb.segment_name, count(*)
		FROM before f FULL JOIN after t ON t.customer_id = f.customer_id
			 LEFT JOIN map fb ON fb.priority = f.priority LEFT JOIN map tb ON tb.priority = t.priority
		GROUP BY 1, 2
		ORDER BY 1 NULLS FIRST, 2 NULLS FIRST$sql$,
		memberships_at_sql(a, ARRAY['rfm', 'lifecycle'], '$1', 'NULL::pg_catalog.text'), extension_schema(),
		a.map_name, memberships_at_sql(a, ARRAY['rfm', 'lifecycle'], '$2', 'NULL::pg_catalog.text'))
		USING from_time, to_time;
END
$function$;
COMMENT ON FUNCTION @extschema@.segment_transitions(text, timestamptz, timestamptz) IS
	'how many customers went from each primary segment at from_time to each at to_time; NULL: no primary segment then (not yet, or no longer, a customer)';

-- Makes the history table of an attachment, its indexes and comments.
CREATE FUNCTION segment_internal.create_history_table(a @extschema@.attachments) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	history text := format('%I.%I', a.view_schema, a.attachment_name || '_history');
	key_type regtype := coalesce(column_type(a.state_table, 'customer_id'),
								 column_type(format('%I.%I', a.view_schema, a.attachment_name || '_customers')::regclass,
											 'customer_id'));
BEGIN
	EXECUTE format('CREATE TABLE %s (customer_id %s NOT NULL, kind text NOT NULL, segment text NOT NULL, '
				   'entered_at timestamptz NOT NULL, left_at timestamptz, '
				   'CHECK (kind IN (''rfm'', ''lifecycle'', ''rule'')), CHECK (left_at > entered_at))',
				   history, format_type(key_type, NULL));
	-- one open interval per customer and segment, found by the close
	EXECUTE format('CREATE UNIQUE INDEX ON %s (customer_id, kind, segment) WHERE left_at IS NULL', history);
	-- the members of a segment at an instant
	EXECUTE format('CREATE INDEX ON %s (segment, entered_at) INCLUDE (left_at, kind, customer_id)', history);
	-- a customer's intervals of a kind: the latest instant of its history
	EXECUTE format('CREATE INDEX ON %s (customer_id, kind) INCLUDE (entered_at, left_at)', history);
	PERFORM comment_relation(history,
		format('the intervals over which each customer belonged to each segment (segment attachment %s)', a.attachment_name),
		'customer_id', 'the customer''s key',
		'kind', 'rfm for a segment of the map, lifecycle for a lifecycle stage, rule for a rule segment',
		'segment', 'the segment''s name (a lifecycle stage''s name for kind lifecycle)',
		'entered_at', 'when the customer entered the segment',
		'left_at', 'when the customer left it; NULL while a member');
	RETURN history::regclass;
END
$function$;
COMMENT ON FUNCTION segment_internal.create_history_table(@extschema@.attachments) IS
	'creates the history table of an attachment, with its indexes and comments';

-- Brings the open intervals of a history in line with the memberships a
-- query lists (customer_id, kind, segment) at an instant: those it lacks
-- end then, those it adds start then.  Returns how many intervals closed
-- or opened.
CREATE FUNCTION segment_internal.reconcile_history(history regclass, memberships text, at timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	changes bigint;
BEGIN
	EXECUTE format($sql$
		WITH now AS MATERIALIZED (%2$s), closed AS (
			UPDATE %1$s h SET left_at = $1
			WHERE h.left_at IS NULL AND h.entered_at < $1
			  AND NOT EXISTS (SELECT 1 FROM now n WHERE n.customer_id = h.customer_id AND n.kind = h.kind
														AND n.segment = h.segment)
			RETURNING 1
		), empty AS (
			-- an interval that would end where it starts was never one
			DELETE FROM %1$s h
			WHERE h.left_at IS NULL AND h.entered_at >= $1
			  AND NOT EXISTS (SELECT 1 FROM now n WHERE n.customer_id = h.customer_id AND n.kind = h.kind
														AND n.segment = h.segment)
			RETURNING 1
		), opened AS (
			INSERT INTO %1$s (customer_id, kind, segment, entered_at)
			SELECT n.customer_id, n.kind, n.segment, $1 FROM now n
			WHERE NOT EXISTS (SELECT 1 FROM %1$s h WHERE h.left_at IS NULL AND h.customer_id = n.customer_id
														AND h.kind = n.kind AND h.segment = n.segment)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM closed) + (SELECT count(*) FROM empty) + (SELECT count(*) FROM opened)$sql$,
		history, memberships)
		INTO changes USING at;
	RETURN changes;
END
$function$;
COMMENT ON FUNCTION segment_internal.reconcile_history(regclass, text, timestamptz) IS
	'ends the open intervals of a history that a query of memberships lacks and starts those it adds, at an instant; returns how many';

-- Starts the history of a maintained attachment, or goes on with the table
-- it kept before (from snapshots, say): its table, in line with what the
-- state and tags hold now, and the triggers that write every change.  The
-- history answers from now on: the time it was not maintained is not
-- exact.  Writers of orders and customers wait meanwhile.
CREATE FUNCTION segment_internal.start_history(attachment_name text, retention interval) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	history regclass;
	since timestamptz;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = start_history.attachment_name;
	IF NOT owns_relation(a.state_table) THEN
		RAISE EXCEPTION 'must be owner of table %', a.state_table USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM lock_state_tables(a.attachment_name);
	IF a.tags_table IS NOT NULL THEN
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.customers_table);
	END IF;
	-- the history goes on (or starts) from the stored values as they are now
	PERFORM rescore_state(a.attachment_name, only_expired => true);
	since := segment_as_of();
	history := CASE WHEN relation_exists(a.history_table) THEN a.history_table ELSE create_history_table(a) END;
	PERFORM reconcile_history(history,
		format($sql$SELECT s.customer_id, m.kind, m.segment FROM %1$s s,
			LATERAL (SELECT 'rfm'::text, unnest(%3$s.segment_set_labels(s.segments))
					 UNION ALL SELECT 'lifecycle', s.lifecycle_stage WHERE s.lifecycle_stage IS NOT NULL) m(kind, segment)
		WHERE s.scored_at IS NOT NULL%2$s$sql$, a.state_table,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' UNION ALL SELECT g.customer_id, ''rule'', unnest(%s.segment_set_labels(g.segments)) FROM %s g',
							 extension_schema(), a.tags_table) END,
			extension_schema()),
		since);
	UPDATE attachments t
	SET history_table = history, history_since = since, history_retention = coalesce(retention, t.history_retention),
		history_snapshots = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	PERFORM install_history_triggers(a.attachment_name);
	RETURN history;
END
$function$;
COMMENT ON FUNCTION segment_internal.start_history(text, interval) IS
	'creates the history table of a maintained attachment (or goes on with the one it has), brings it in line with the memberships stored now and installs the triggers that write every change';

CREATE FUNCTION @extschema@.keep_segment_history(attachment_name text, retention interval DEFAULT NULL)
	RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	history regclass;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = keep_segment_history.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', keep_segment_history.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF retention <= '0'::interval OR NOT isfinite(now() + retention) THEN
		RAISE EXCEPTION 'retention must be a positive, finite interval, not %', retention
			USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL keeps the history for ever.';
	END IF;
	IF a.history_table IS NOT NULL THEN
		UPDATE attachments t SET history_retention = retention WHERE t.attachment_name = a.attachment_name;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
				USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
		END IF;
		PERFORM prune_segment_history(a.attachment_name);
		RETURN a.history_table;
	END IF;
	IF a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Its history is kept by snapshot_segments(), or call maintain_attachment() first.';
	END IF;
	IF a.state_shards_table IS NOT NULL THEN
		RAISE EXCEPTION 'cannot keep the segment history of attachment "%"', a.attachment_name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Its state is kept on the shards of Citus, whose nodes keep no history table.',
				  HINT = 'Its history is kept by snapshot_segments().';
	END IF;
	history := start_history(a.attachment_name, retention);
	PERFORM build_attachment_views(a.attachment_name);
	RETURN history;
END
$function$;
COMMENT ON FUNCTION @extschema@.keep_segment_history(text, interval) IS
	'starts the segment history of a maintained attachment (maintain_attachment() does), or sets how long it keeps an interval after it ended (retention; NULL: for ever)';

CREATE FUNCTION @extschema@.drop_segment_history(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = drop_segment_history.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', drop_segment_history.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM drop_history_triggers(a.attachment_name);
	UPDATE attachments t SET history_table = NULL, history_since = NULL, history_retention = NULL, history_snapshots = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	PERFORM build_attachment_views(a.attachment_name);
	IF relation_exists(a.history_table) THEN
		EXECUTE format('DROP TABLE %s', a.history_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.drop_segment_history(text) IS
	'stops the segment history of an attachment and drops its table and snapshots';

CREATE FUNCTION @extschema@.prune_segment_history(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	horizon timestamptz;
	pruned bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = prune_segment_history.attachment_name;
	IF NOT FOUND OR a.history_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" keeps no segment history', prune_segment_history.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.history_retention IS NULL THEN
		RETURN 0;
	END IF;
	horizon := segment_as_of() - a.history_retention;
	IF horizon <= a.history_since THEN
		RETURN 0;
	END IF;
	EXECUTE format('DELETE FROM %s h WHERE h.left_at <= $1', a.history_table) USING horizon;
	GET DIAGNOSTICS pruned = ROW_COUNT;
	UPDATE attachments t
	SET history_since = horizon, history_snapshots = ARRAY(SELECT s FROM unnest(t.history_snapshots) s WHERE s >= horizon)
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	-- published views hold the history's start as a constant
	IF a.pseudonym_secret_table IS NOT NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	RETURN pruned;
END
$function$;
COMMENT ON FUNCTION @extschema@.prune_segment_history(text) IS
	'deletes the intervals of an attachment''s history that ended longer ago than its retention; the history then covers the instants since that horizon; returns how many';

CREATE FUNCTION @extschema@.snapshot_segments(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	at timestamptz := segment_as_of();
	last_taken timestamptz;
	history regclass;
	changes bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = snapshot_segments.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', snapshot_segments.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.state_table IS NOT NULL THEN
		RAISE EXCEPTION 'attachment "%" is maintained: its history is written as its state changes', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'refresh_due_segments() writes the moves time alone made; keep_segment_history() starts the history.';
	END IF;
	IF NOT owns_relation(a.orders_table) THEN
		RAISE EXCEPTION 'must be owner of table %', a.orders_table USING ERRCODE = 'insufficient_privilege';
	END IF;
	history := a.history_table;
	IF history IS NULL THEN
		history := create_history_table(a);
		UPDATE attachments t SET history_table = history, history_since = at WHERE t.attachment_name = a.attachment_name;
	END IF;
	-- one snapshot at a time, each later than the last
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', history);
	-- read once the lock is held: a snapshot taken meanwhile counts
	SELECT max(s) INTO last_taken FROM attachments t, unnest(t.history_snapshots) s
	WHERE t.attachment_name = a.attachment_name;
	IF at <= last_taken THEN
		RAISE EXCEPTION 'a snapshot of attachment "%" at % would not follow its last one, at %', a.attachment_name,
			at, last_taken
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Snapshots follow each other in time (segment.as_of).';
	END IF;
	changes := reconcile_history(history,
		format($sql$SELECT c.customer_id, m.kind, m.segment FROM %1$s c,
			LATERAL (SELECT CASE WHEN s = ANY (%2$L::text[]) THEN 'rfm' ELSE 'rule' END, s FROM unnest(c.segments) s
					 UNION ALL
					 SELECT 'lifecycle', c.lifecycle_stage WHERE c.lifecycle_stage <> 'prospect') m(kind, segment)$sql$,
			format('%I.%I', a.view_schema, a.attachment_name || '_customers'),
			ARRAY(SELECT s.segment FROM attachment_segments(a.attachment_name) s WHERE s.kind = 'rfm')),
		at);
	UPDATE attachments t SET history_snapshots = coalesce(t.history_snapshots, '{}') || at
	WHERE t.attachment_name = a.attachment_name;
	IF a.history_table IS NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	PERFORM prune_segment_history(a.attachment_name);
	RETURN changes;
END
$function$;
COMMENT ON FUNCTION @extschema@.snapshot_segments(text) IS
	'records the segments every customer of an unmaintained attachment belongs to now (segment_as_of()) in its history, which is made on the first call; returns the intervals closed and opened';
