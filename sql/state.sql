
-- maintained state: per-customer statistics kept current by triggers
-- (src/state_trigger.c), which the views of the attachment read

-- Every write of orders is recorded by a row trigger (src/state_trigger.c)
-- and folded into the state when the transaction commits: the first write
-- of a transaction inserts a row into state_commits, whose deferred
-- constraint trigger runs the fold (src/state_fold.c).
CREATE UNLOGGED TABLE @extschema@.state_commits ();
COMMENT ON TABLE @extschema@.state_commits IS
	'one row per transaction that wrote orders of a maintained attachment, while it runs; its deferred trigger writes the state at commit';

CREATE FUNCTION segment_internal.segment_state_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_state_trigger() IS
	'records the orders written to the orders table of a maintained attachment (its argument), for the state written at commit';

CREATE FUNCTION segment_internal.segment_state_commit() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.segment_state_commit() IS
	'writes the orders recorded in the transaction into the state tables of their attachments, each customer once, in key order';
CREATE CONSTRAINT TRIGGER state_commit AFTER INSERT ON @extschema@.state_commits
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION segment_internal.segment_state_commit();
COMMENT ON TRIGGER state_commit ON @extschema@.state_commits IS
	'writes the maintained state of a transaction when it commits';
-- under session_replication_role = replica too, when the triggers that
-- record orders are made to fire then
ALTER TABLE @extschema@.state_commits ENABLE ALWAYS TRIGGER state_commit;

CREATE FUNCTION segment_internal.state_derive_again(attachment_name text, source regclass)
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.state_derive_again(text, regclass) IS
	'has the commit derive again from the orders the customers found in table source (a partition attached or detached)';

CREATE FUNCTION segment_internal.run_state_statement(attachment_name text, statement text)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION segment_internal.run_state_statement(text, text) IS
	'runs one statement of state_statements() (refill, rescore or rescore_expired) on a maintained attachment, as the owner of its state table, restricted; for that owner';

CREATE FUNCTION segment_internal.attachments_changed() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON FUNCTION segment_internal.attachments_changed() IS
	'has every session prepare the statements that write the maintained state again';
CREATE TRIGGER attachments_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.attachments
	FOR EACH STATEMENT EXECUTE FUNCTION segment_internal.attachments_changed();
COMMENT ON TRIGGER attachments_changed ON @extschema@.attachments IS
	'has every session prepare the statements that write the maintained state again';

CREATE FUNCTION segment_internal.state_values(stats @extschema@.rfm_stats, as_of timestamptz,
										 thresholds @extschema@.rfm_thresholds,
										 cell_segments @extschema@.segment_set[],
										 previous_from timestamptz, previous_until timestamptz,
										 lifecycle_limits double precision[],
										 OUT scores @extschema@.rfm, OUT lifecycle_stage text,
										 OUT segments @extschema@.segment_set, OUT scored_at timestamptz,
										 OUT valid_until timestamptz, OUT valid_from timestamptz)
	RETURNS record
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.state_values(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds, @extschema@.segment_set[], timestamptz, timestamptz, double precision[]) IS
	'what a state row stores beside its statistics at analysis time as_of: scores against the thresholds, lifecycle stage (with the attachment''s limits, NULL for the defaults), the segments of the score''s cell (cell_segments: those of every cell, in the order of their codes), and the span time alone leaves them true (keeping the previous bounds where they still hold); NULL for NULL stats';

CREATE FUNCTION @extschema@.segments_valid_until(stats @extschema@.rfm_stats, as_of timestamptz,
												 thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_until(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'until when, without a new order, the customer keeps the rfm score (against these thresholds) and lifecycle stage it has at as_of; infinity if forever';

CREATE FUNCTION @extschema@.segments_valid_from(stats @extschema@.rfm_stats, as_of timestamptz,
												thresholds @extschema@.rfm_thresholds)
	RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.segments_valid_from(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'since when, up to as_of, the customer has had the rfm score (against these thresholds) and lifecycle stage it has at as_of; -infinity if always';

-- The SQL of an order's time as a timestamptz: a timestamp or date is a
-- time in the attachment's time zone, whoever reads or writes.
CREATE FUNCTION segment_internal.order_time_sql(expression text, time_type regtype, time_zone text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE time_type
			WHEN 'timestamp with time zone'::regtype THEN expression
			WHEN 'timestamp without time zone'::regtype
				THEN format('pg_catalog.timezone(%L::pg_catalog.text, %s)', time_zone, expression)
			WHEN 'date'::regtype
				THEN format('pg_catalog.timezone(%L::pg_catalog.text, (%s)::pg_catalog.timestamp)', time_zone, expression)
		  END $$;
COMMENT ON FUNCTION segment_internal.order_time_sql(text, regtype, text) IS
	'the SQL that reads an order time of this type as a timestamptz: timestamp and date in the attachment''s time zone';

-- The SQL of a state row's values after customer_id, from the SQL of its
-- statistics, of the thresholds it is scored against, of the segments of
-- every score cell, of its previous span and of the lifecycle limits: one
-- row of a SELECT.
CREATE FUNCTION segment_internal.state_row_sql(stats_sql text, thresholds_sql text, cell_segments_sql text,
										  previous_from_sql text, previous_until_sql text,
										  lifecycle_limits_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	ext text;
BEGIN
	ext := extension_schema();
	RETURN format($row$SELECT m.stats, v.scores, v.lifecycle_stage, v.segments, v.scored_at, v.valid_until, v.valid_from
FROM (SELECT %2$s AS stats) m,
	 segment_internal.state_values(m.stats, (SELECT %1$s.segment_as_of()), %3$s, %4$s, %5$s, %6$s, %7$s) v$row$,
		ext, stats_sql, thresholds_sql, cell_segments_sql, previous_from_sql, previous_until_sql, lifecycle_limits_sql);
END
$function$;
COMMENT ON FUNCTION segment_internal.state_row_sql(text, text, text, text, text, text) IS
	'the SQL of the values of a state row after customer_id, given the SQL of its statistics, of the thresholds, of the segments of every score cell, of its previous span and of the lifecycle limits; every statement that writes state rows uses it';

-- The SQL of a column of an attachment's row, read when a statement runs.
CREATE FUNCTION segment_internal.attachment_value_sql(attachment_name text, column_name name) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT format('(SELECT t.%I FROM %s.attachments t WHERE t.attachment_name OPERATOR(pg_catalog.=) %L)',
						column_name, segment_internal.extension_schema(), attachment_name) $$;
COMMENT ON FUNCTION segment_internal.attachment_value_sql(text, name) IS
	'the SQL of a column of an attachment''s row (its thresholds, the segments of its cells), read when a statement runs';

-- The statements that write the state of a maintained attachment, for
-- keys, times and amounts of these types (NULL: the orders columns' own):
-- see src/state_fold.c.  The merge takes the stored thresholds, the
-- segments of the score cells and the lifecycle limits as $5 to $7, the
-- one-order merge as $4 to $6, the derive as $2 to $4 (the fold reads them
-- from the attachment once it holds the state table's lock).  No row if
-- the attachment is not maintained.
CREATE FUNCTION segment_internal.state_statements(attachment_name text, key_type regtype, time_type regtype,
											 amount_type regtype)
	RETURNS TABLE (merge text, merge_one text, derive text, clear text, refill text, rescore text,
				   rescore_expired text, owner oid, problem text, relations oid[])
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
	state text;
	orders text;
	columns text := 'stats, scores, lifecycle_stage, segments, scored_at, valid_until, valid_from';
	stats_of_orders text;
	key_collation text := '';
BEGIN
	SELECT * INTO a FROM attachments t
	WHERE t.attachment_name = state_statements.attachment_name AND t.state_table IS NOT NULL;
	IF NOT FOUND OR NOT relation_exists(a.state_table) THEN
		RETURN;
	END IF;
	ext := extension_schema();
	SELECT format('%I.%I', n.nspname, c.relname), c.relowner INTO state, owner
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = a.state_table;
	SELECT format('%I.%I', n.nspname, c.relname),
		   CASE WHEN c.relrowsecurity THEN format('Table %s has row-level security enabled: the state would hold the orders its policies hide.', c.relname) END
	INTO orders, problem
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = a.orders_table;
	key_type := coalesce(key_type, column_type(a.orders_table, a.customer_column));
	-- the merge sorts the keys as the state's key column sorts them, as a
	-- refresh locks its rows
	SELECT format(' COLLATE %I.%I', n.nspname, c.collname) INTO key_collation
	FROM pg_attribute att JOIN pg_collation c ON c.oid = att.attcollation JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.state_table AND att.attname = 'customer_id';
	key_collation := coalesce(key_collation, '');
	-- the keys recorded go into the state's key column as they are, and
	-- every column must be of the type the statements write
	IF key_type IS DISTINCT FROM column_type(a.state_table, 'customer_id') THEN
		problem := format('Its keys are of type %s, its state''s of type %s.',
						  key_type, column_type(a.state_table, 'customer_id'));
	END IF;
	SELECT coalesce(problem, format('Column %I of %s is of type %s, not %s.', c.name, a.state_table,
									coalesce(column_type(a.state_table, c.name)::text, 'missing'), c.type))
	INTO problem
	FROM (VALUES ('stats'::name, 'rfm_stats'::regtype), ('scores', 'rfm'), ('lifecycle_stage', 'text'),
				 ('segments', 'segment_set'), ('scored_at', 'timestamptz'), ('valid_until', 'timestamptz'),
				 ('valid_from', 'timestamptz')) c(name, type)
	WHERE column_type(a.state_table, c.name) IS DISTINCT FROM c.type
	LIMIT 1;
	relations := ARRAY[a.orders_table, a.state_table,
					   (SELECT c.oid FROM pg_class c WHERE c.relname = 'attachments'
						AND c.relnamespace = (SELECT e.extnamespace FROM pg_extension e WHERE e.extname = 'segment'))];
	time_type := coalesce(time_type, column_type(a.orders_table, a.order_time_column));
	amount_type := coalesce(amount_type, column_type(a.orders_table, a.amount_column));
	stats_of_orders := format('%s.rfm_stats(%s, (o.%I)::pg_catalog.numeric) FILTER (WHERE o.%I IS NOT NULL)',
							  ext, order_time_sql(format('o.%I', a.order_time_column),
												  column_type(a.orders_table, a.order_time_column), a.time_zone),
							  a.amount_column, a.order_time_column);

	-- the arrays unnested in the select list, in step, and not in FROM,
	-- where each would be kept in a tuplestore first
	merge := format($sql$WITH event AS (
	SELECT e.customer_id, e.changed, %1$s AS order_time, (e.amount)::pg_catalog.numeric AS amount
	FROM (SELECT pg_catalog.unnest($1::%2$s[])%10$s AS customer_id, pg_catalog.unnest($2::%3$s[]) AS order_time,
				 pg_catalog.unnest($3::%4$s[]) AS amount, pg_catalog.unnest($4::pg_catalog.bool[]) AS changed) e
), change AS (
	SELECT e.customer_id, pg_catalog.bool_or(e.changed) AS changed,
		   %5$s.rfm_stats(e.order_time, e.amount) FILTER (WHERE NOT e.changed) AS added
	FROM event e GROUP BY e.customer_id
)
INSERT INTO %6$s AS s (customer_id, %7$s)
SELECT c.customer_id, r.* FROM change c,
	LATERAL (%8$s
			 WHERE NOT c.changed
			 UNION ALL
			 SELECT %5$s.rfm_stats_of_order('epoch', 0), NULL, NULL, '{}', NULL, NULL, NULL
			 WHERE c.changed) r
ORDER BY c.customer_id
ON CONFLICT (customer_id) DO UPDATE SET (%7$s) = (%9$s)
WHERE excluded.scored_at IS NOT NULL$sql$,
		order_time_sql('e.order_time', time_type, a.time_zone),
		format_type(key_type, NULL), format_type(time_type, NULL), format_type(amount_type, NULL),
		ext, state, columns,
		state_row_sql('c.added', '$5', '$6', 'NULL', 'NULL', '$7'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$5', '$6',
					  's.valid_from', 's.valid_until', '$7'),
		key_collation);

	-- the same for one order, the most common transaction, in a statement
	-- with less to start: $1 key, $2 time, $3 amount, $4 thresholds, $5 cells
	merge_one := format($sql$INSERT INTO %1$s AS s (customer_id, %2$s)
SELECT $1::%3$s, r.* FROM (%4$s) r
ON CONFLICT (customer_id) DO UPDATE SET (%2$s) = (%5$s)$sql$,
		state, columns, format_type(key_type, NULL),
		state_row_sql(format('%s.rfm_stats_of_order(%s, ($3::%s)::pg_catalog.numeric)', ext,
							 order_time_sql(format('$2::%s', format_type(time_type, NULL)), time_type, a.time_zone),
							 format_type(amount_type, NULL)),
					  '$4', '$5', 'NULL', 'NULL', '$6'),
		state_row_sql(format('%s.rfm_stats_combine(s.stats, excluded.stats)', ext), '$4', '$5',
					  's.valid_from', 's.valid_until', '$6'));

	derive := format($sql$WITH fresh AS (
	SELECT k.customer_id,
		   (SELECT %1$s FROM %2$s o WHERE o.%3$I OPERATOR(pg_catalog.=) k.customer_id) AS stats
	FROM (SELECT DISTINCT u.customer_id FROM pg_catalog.unnest($1::%4$s[]) AS u(customer_id)) k
), gone AS (
	DELETE FROM %5$s s USING fresh f
	WHERE s.customer_id OPERATOR(pg_catalog.=) f.customer_id AND f.stats IS NULL
)
UPDATE %5$s s SET (%6$s) = (%7$s)
FROM fresh f WHERE s.customer_id OPERATOR(pg_catalog.=) f.customer_id AND f.stats IS NOT NULL$sql$,
		stats_of_orders, orders, a.customer_column, format_type(key_type, NULL), state, columns,
		state_row_sql('f.stats', '$2', '$3', 's.valid_from', 's.valid_until', '$4'));

	clear := format('DELETE FROM %s', state);

	refill := format($sql$WITH fresh AS MATERIALIZED (
	SELECT o.%1$I AS customer_id, %2$s AS stats
	FROM %3$s o WHERE o.%1$I IS NOT NULL GROUP BY o.%1$I
), gone AS (
	DELETE FROM %4$s s
	WHERE NOT EXISTS (SELECT FROM fresh f WHERE f.customer_id OPERATOR(pg_catalog.=) s.customer_id AND f.stats IS NOT NULL)
)
INSERT INTO %4$s AS s (customer_id, %5$s)
SELECT f.customer_id, r.* FROM fresh f, LATERAL (%6$s) r WHERE f.stats IS NOT NULL
ON CONFLICT (customer_id) DO UPDATE SET (%5$s) =
	(excluded.stats, excluded.scores, excluded.lifecycle_stage, excluded.segments, excluded.scored_at,
	 excluded.valid_until, excluded.valid_from)$sql$,
		a.customer_column, stats_of_orders, orders, state, columns,
		state_row_sql('f.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 'NULL', 'NULL',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')));
	-- every row scored again, or those whose stored values expired, locked
	-- in key order as the fold of orders locks them, so that the two never
	-- deadlock
	rescore := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')),
		'');
	rescore_expired := format($sql$UPDATE %1$s s SET (%2$s) = (%3$s)
FROM (SELECT k.customer_id FROM %1$s k%4$s ORDER BY k.customer_id FOR UPDATE) k
WHERE s.customer_id OPERATOR(pg_catalog.=) k.customer_id$sql$,
		state, columns,
		state_row_sql('s.stats', attachment_value_sql(a.attachment_name, 'thresholds'),
					  attachment_value_sql(a.attachment_name, 'cell_segments'), 's.valid_from', 's.valid_until',
					  attachment_value_sql(a.attachment_name, 'lifecycle_limits')),
		format(' WHERE k.valid_until IS NULL OR k.valid_until OPERATOR(pg_catalog.<=) %1$s.segment_as_of() '
			   'OR k.valid_from OPERATOR(pg_catalog.>) %1$s.segment_as_of()', ext));
	RETURN NEXT;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_statements(text, regtype, regtype, regtype) IS
	'the statements that write the state of a maintained attachment: merge recorded orders, derive changed customers again, clear, refill from all orders, score every customer or the expired ones again';

-- Locks the state table of a maintained attachment against writers, with
-- those of the other maintained attachments of its orders table, in the
-- order of their names: the order in which a transaction that writes the
-- orders writes their states at commit, so that the two never deadlock.
CREATE FUNCTION segment_internal.lock_state_tables(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	state regclass;
BEGIN
	FOR state IN
		SELECT t.state_table FROM attachments t
		WHERE t.state_table IS NOT NULL
		  AND t.orders_table = (SELECT o.orders_table FROM attachments o
								WHERE o.attachment_name = lock_state_tables.attachment_name)
		  AND (t.attachment_name = lock_state_tables.attachment_name OR owns_relation(t.state_table))
		ORDER BY t.attachment_name COLLATE "C"
	LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', state);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.lock_state_tables(text) IS
	'locks the state tables of the maintained attachments of an attachment''s orders table against writers, in the order writers take them';

-- The RFM segments of every score cell of an attachment's map, in the order
-- of the cells' codes, stored in the attachment for the state to be written
-- with.  True if they changed.
CREATE FUNCTION segment_internal.fill_segment_cells(attachment_name text) RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	wanted segment_set[];
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = fill_segment_cells.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', fill_segment_cells.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	SELECT array_agg(segment_set(segment_memberships(make_rfm(r, f, m), a.map_name)) ORDER BY r, f, m) INTO wanted
	FROM generate_series(1, a.bins) r, generate_series(1, a.bins) f, generate_series(1, a.bins) m;
	IF wanted IS NOT DISTINCT FROM a.cell_segments THEN
		RETURN false;
	END IF;
	-- writers wait until the customers are rescored against the new cells;
	-- those whose values expired are brought up to now with the old ones,
	-- which the history judges them with until then
	PERFORM lock_state_tables(a.attachment_name);
	PERFORM rescore_state(a.attachment_name, only_expired => true);
	UPDATE attachments t SET cell_segments = wanted WHERE t.attachment_name = a.attachment_name;
	RETURN true;
END
$function$;
COMMENT ON FUNCTION segment_internal.fill_segment_cells(text) IS
	'stores the RFM segments of every score cell of a maintained attachment''s map in attachments.cell_segments; true if they changed';

-- Stores again the scores, stage, segments and validity of the customers
-- of a maintained attachment: all of them, or those whose stored values
-- have expired by segment_as_of().  Returns the number of rows rewritten.
CREATE FUNCTION segment_internal.rescore_state(attachment_name text, only_expired boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	rewritten bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = rescore_state.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', rescore_state.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.state_shards_table IS NOT NULL THEN
		-- every node rescores its shards: counted first, under the lock
		-- that keeps writers out
		EXECUTE format('SELECT count(*) FROM %s k%s', a.state_table,
					   CASE WHEN only_expired THEN ' WHERE k.valid_until IS NULL OR k.valid_until <= $1 OR k.valid_from > $1' ELSE '' END)
			INTO rewritten USING segment_as_of();
		PERFORM request_state_shards(a.attachment_name, CASE WHEN only_expired THEN 'rescore_expired' ELSE 'rescore' END);
		RETURN rewritten;
	END IF;
	rewritten := run_state_statement(a.attachment_name,
									 CASE WHEN only_expired THEN 'rescore_expired' ELSE 'rescore' END);
	RETURN rewritten;
END
$function$;
COMMENT ON FUNCTION segment_internal.rescore_state(text, boolean) IS
	'stores again the scores, stage and segments of all customers of a maintained attachment, or of those whose stored values expired';

CREATE FUNCTION @extschema@.refresh_due_segments(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	RETURN rescore_state(refresh_due_segments.attachment_name, only_expired => true);
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_due_segments(text) IS
	'stores again the segments of the customers of a maintained attachment whom time alone has moved since they were stored (valid_until passed); returns how many';

-- Whether a relation (an OID kept in a regclass column) still exists.
CREATE FUNCTION segment_internal.relation_exists(relation regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relation) $$;
COMMENT ON FUNCTION segment_internal.relation_exists(regclass) IS
	'whether the relation still exists; false for NULL';

-- The orders table of an attachment and its partitions, as they are now.
CREATE FUNCTION segment_internal.orders_partitions(orders regclass) RETURNS regclass[]
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT coalesce(array_agg(t.relid ORDER BY t.relid::oid), '{}')
		  FROM pg_catalog.pg_partition_tree(orders) t WHERE t.relid OPERATOR(pg_catalog.<>) orders $$;
COMMENT ON FUNCTION segment_internal.orders_partitions(regclass) IS
	'the partitions of an orders table at every level, none for a plain table';

-- Whether Citus keeps a table's rows on other nodes: a distributed or a
-- reference table (not a local table it merely lists), when Citus is
-- installed.
CREATE FUNCTION segment_internal.is_distributed_table(relation regclass) RETURNS boolean
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	found boolean := false;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1 '
				'AND NOT (p.partmethod OPERATOR(pg_catalog.=) ''n'' AND p.repmodel OPERATOR(pg_catalog.=) ''s''))'
			INTO found USING relation;
	END IF;
	RETURN found;
END
$function$;
COMMENT ON FUNCTION segment_internal.is_distributed_table(regclass) IS
	'whether Citus keeps a table''s rows on other nodes (a distributed or reference table); false without Citus';

-- Why the orders table of an attachment cannot have maintained state, in a
-- sentence; NULL if it can.
CREATE FUNCTION segment_internal.state_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	orders pg_class;
	key_collation oid;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_obstacle.attachment_name;
	SELECT * INTO orders FROM pg_class c WHERE c.oid = a.orders_table;
	IF orders.relkind NOT IN ('r', 'p') THEN
		RETURN format('%s is not a table: only tables have triggers that record their orders.', a.orders_table);
	END IF;
	IF orders.relrowsecurity THEN
		RETURN format('%s has row-level security enabled: the state would hold the orders its policies hide from readers.',
					  a.orders_table);
	END IF;
	IF is_distributed_table(a.orders_table) AND citus_state_obstacle(a.orders_table, a.customer_column) IS NOT NULL THEN
		RETURN citus_state_obstacle(a.orders_table, a.customer_column);
	END IF;
	IF column_type(a.orders_table, a.order_time_column) NOT IN
	   ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RETURN format('Column %I of %s is of type %s, not timestamp with time zone, timestamp or date.',
					  a.order_time_column, a.orders_table, column_type(a.orders_table, a.order_time_column));
	END IF;
	-- the state compares keys with pg_catalog's equality, which must be the
	-- type's own (not, say, citext's through a cast to text)
	IF (SELECT t.typnamespace FROM pg_type t
		WHERE t.oid = coalesce(nullif((SELECT b.typbasetype FROM pg_type b
									   WHERE b.oid = column_type(a.orders_table, a.customer_column)), 0),
							   column_type(a.orders_table, a.customer_column))) <> 'pg_catalog'::regnamespace THEN
		RETURN format('Column %I of %s is of type %s: a customer key of a type of PostgreSQL''s own, such as bigint, text or uuid, can be maintained.',
					  a.customer_column, a.orders_table, column_type(a.orders_table, a.customer_column));
	END IF;
	SELECT att.attcollation INTO key_collation FROM pg_attribute att
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;
	IF EXISTS (SELECT 1 FROM pg_collation c WHERE c.oid = key_collation AND NOT c.collisdeterministic) THEN
		RETURN format('Column %I of %s has a nondeterministic collation: keys it calls equal would be one customer to the orders and two to the state.',
					  a.customer_column, a.orders_table);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_obstacle(text) IS
	'why the orders table of an attachment cannot have maintained state (not a table, row-level security, a nondeterministic collation of the key); NULL if it can';

-- The triggers that record the writes of orders: a row trigger on the
-- orders table, which PostgreSQL clones to every partition, present and
-- future; TRUNCATE triggers on the table and on each partition, which are
-- not cloned.
CREATE FUNCTION segment_internal.install_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	trigger_name text;
	row_trigger text;
	partition regclass;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = install_state_triggers.attachment_name;
	trigger_name := 'segment_' || a.attachment_name || '_state';
	IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = a.orders_table AND t.tgname = trigger_name) THEN
		row_trigger := format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
							  'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
							  trigger_name, a.orders_table, a.attachment_name);
		IF a.state_shards_table IS NOT NULL THEN
			-- Citus clones it to every shard; not one of TRUNCATE, which
			-- each node puts on its shards (keep_state_shards())
			PERFORM with_citus_setting('citus.enable_unsafe_triggers', 'on', row_trigger);
		ELSE
			EXECUTE row_trigger;
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
						   trigger_name || '_truncate', a.orders_table, a.attachment_name);
		END IF;
	END IF;
	FOREACH partition IN ARRAY orders_partitions(a.orders_table) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = partition AND t.tgname = trigger_name || '_truncate')
		   AND (SELECT c.relkind FROM pg_class c WHERE c.oid = partition) = 'r' THEN
			EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
						   trigger_name || '_truncate', partition, a.attachment_name);
		END IF;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.install_state_triggers(text) IS
	'creates the triggers that record the writes of the orders of a maintained attachment, on the table and each partition';

-- Derives the state of every customer again from all the orders, now.
CREATE FUNCTION @extschema@.rebuild_state(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	rewritten bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = rebuild_state.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', rebuild_state.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	-- no order may change meanwhile: writers wait, and so does this for them;
	-- nor may a refresh rewrite state rows in another order
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	PERFORM lock_state_tables(a.attachment_name);
	IF a.state_shards_table IS NOT NULL THEN
		-- every node derives its shards again, each under these locks
		PERFORM request_state_shards(a.attachment_name, 'refill');
		EXECUTE format('SELECT count(*) FROM %s', a.state_table) INTO rewritten;
		RETURN rewritten;
	END IF;
	RETURN run_state_statement(a.attachment_name, 'refill');
END
$function$;
COMMENT ON FUNCTION @extschema@.rebuild_state(text) IS
	'derives the state of every customer of a maintained attachment again from all its orders; returns the rows written';

CREATE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	state text;
	ext text;
	key_type text;
	key_collation text;
	obstacle text;
	distributed boolean;
	modify_mode text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = maintain_attachment.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', maintain_attachment.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF a.state_table IS NOT NULL THEN
		RAISE EXCEPTION 'attachment "%" is already maintained in %', a.attachment_name, a.state_table
			USING ERRCODE = 'duplicate_object';
	END IF;
	obstacle := state_obstacle(a.attachment_name);
	IF obstacle IS NOT NULL THEN
		RAISE EXCEPTION 'cannot maintain the state of attachment "%"', a.attachment_name
			USING ERRCODE = 'feature_not_supported', DETAIL = obstacle,
				  HINT = 'Its views compute every customer from the orders when read.';
	END IF;
	state := format('%I.%I', a.view_schema, a.attachment_name || '_state');
	key_type := format_type(column_type(a.orders_table, a.customer_column), NULL);
	SELECT CASE WHEN att.attcollation <> 0 THEN format(' COLLATE %I.%I', n.nspname, c.collname) ELSE '' END
	INTO key_collation
	FROM pg_attribute att LEFT JOIN pg_collation c ON c.oid = att.attcollation
		 LEFT JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;

	-- no order may change between filling the state and the triggers' start
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.orders_table);
	ext := extension_schema();
	-- room on every page, so that the update of a row whose indexed
	-- columns stay (segments and the bounds of validity, which the fold
	-- keeps when it can) is a heap-only update, without index entries
	EXECUTE format('CREATE TABLE %s (customer_id %s%s PRIMARY KEY, stats %s.rfm_stats NOT NULL, '
				   'scores %s.rfm, lifecycle_stage text, segments %s.segment_set NOT NULL DEFAULT ''{}'', '
				   'scored_at timestamptz, valid_until timestamptz, valid_from timestamptz) '
				   'WITH (fillfactor = 80)',
				   state, key_type, key_collation, ext, ext, ext);
	EXECUTE format('CREATE INDEX ON %s USING gin (segments)', state);
	-- the rows whose stored values do not hold at an analysis time
	EXECUTE format('CREATE INDEX ON %s (valid_until)', state);
	EXECUTE format('CREATE INDEX ON %s (valid_from)', state);
	PERFORM comment_relation(state,
		format('per-customer statistics of %s and what they give, written when each transaction that writes orders commits (segment attachment %s)',
			   a.orders_table, a.attachment_name),
		'customer_id', 'the customer''s key',
		'stats', 'rfm_stats of all the customer''s orders',
		'scores', 'RFM scores against the attachment''s stored thresholds, at scored_at',
		'lifecycle_stage', 'lifecycle stage at scored_at',
		'segments', 'RFM segments of the map at scored_at (GIN indexed)',
		'scored_at', 'the analysis time (segment_as_of()) scores, stage and segments were computed at',
		'valid_until', 'until when time alone leaves scores, stage and segments as stored; refresh_due_segments() rewrites rows past it',
		'valid_from', 'since when scores, stage and segments have been as stored (at or before scored_at)');

	UPDATE attachments t
	SET state_table = state::regclass,
		orders_partitions = orders_partitions(a.orders_table),
		orders_types = ARRAY[column_type(a.orders_table, a.order_time_column),
							 column_type(a.orders_table, a.amount_column)]
	WHERE t.attachment_name = a.attachment_name;
	distributed := is_distributed_table(a.orders_table);
	IF distributed THEN
		-- distribute_state() works in sequential mode; the caller's comes back at the end
		modify_mode := current_setting('citus.multi_shard_modify_mode');
		PERFORM distribute_state(a.attachment_name);
	END IF;
	PERFORM install_state_triggers(a.attachment_name);
	PERFORM fill_segment_cells(a.attachment_name);
	PERFORM rebuild_state(a.attachment_name);
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.orders_table
					 AND i.indkey[0] = (SELECT att.attnum FROM pg_attribute att
										WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column)) THEN
		RAISE WARNING 'no index on %(%) leads with the customer column', a.orders_table, a.customer_column
			USING DETAIL = 'Updating or deleting an order reads all orders of its customer.',
				  HINT = format('CREATE INDEX ON %s (%I)', a.orders_table, a.customer_column);
	END IF;
	PERFORM refresh_attachment_thresholds(a.attachment_name);
	-- the attribute-rule segments of the customers, stored when the
	-- customers table allows it
	IF a.customers_table IS NOT NULL THEN
		obstacle := customer_tags_obstacle(a.attachment_name);
		IF obstacle IS NULL THEN
			PERFORM refresh_customer_tags(a.attachment_name);
		ELSIF distributed THEN
			RAISE WARNING 'rule segments of attachment "%" are judged when read, not stored', a.attachment_name
				USING DETAIL = obstacle;
		ELSE
			RAISE WARNING 'rule segments of attachment "%" are judged when read, not stored', a.attachment_name
				USING DETAIL = obstacle,
					  HINT = CASE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = a.customers_table) IN ('r', 'p')
								  THEN 'Give the customers table a primary key, then call refresh_customer_tags().'
								  ELSE 'Attach the customers table itself, not a view of it, to have the attribute rules stored.' END;
		END IF;
	END IF;
	-- the history is written by triggers on the state table, which Citus
	-- would clone to shards whose nodes keep no history table
	IF NOT distributed THEN
		PERFORM start_history(a.attachment_name, NULL);
	END IF;
	PERFORM build_attachment_views(a.attachment_name);
	IF distributed THEN
		PERFORM set_config('citus.multi_shard_modify_mode', modify_mode, true);
	END IF;
	RETURN state::regclass;
END
$function$;
COMMENT ON FUNCTION @extschema@.maintain_attachment(text) IS
	'creates the per-customer state table of an attachment, fills it, has every transaction that writes orders keep it current as it commits, and makes the views read it';

-- Drops the triggers of the state of an attachment, wherever they are.
CREATE FUNCTION segment_internal.drop_state_triggers(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	found record;
	drop_trigger text;
BEGIN
	-- the row trigger's clones go with it, the truncate triggers one by one
	FOR found IN
		SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t
		WHERE t.tgname IN ('segment_' || attachment_name || '_state', 'segment_' || attachment_name || '_state_truncate')
		  AND t.tgparentid = 0
		ORDER BY t.tgname
	LOOP
		drop_trigger := format('DROP TRIGGER IF EXISTS %I ON %s', found.tgname, found.relation);
		IF is_distributed_table(found.relation) THEN
			PERFORM with_citus_setting('citus.enable_unsafe_triggers', 'on', drop_trigger);
		ELSE
			EXECUTE drop_trigger;
		END IF;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.drop_state_triggers(text) IS
	'drops the triggers that record the writes of the orders of an attachment, on the table and its partitions';

CREATE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	trigger_name name;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = stop_maintaining.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', stop_maintaining.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	-- the history, exact until now, goes on from snapshots
	IF a.history_table IS NOT NULL AND relation_exists(a.state_table) THEN
		PERFORM rescore_state(a.attachment_name, only_expired => true);
		PERFORM drop_history_triggers(a.attachment_name);
		UPDATE attachments t SET history_snapshots = ARRAY[segment_as_of()] WHERE t.attachment_name = a.attachment_name;
	END IF;
	PERFORM drop_state_triggers(a.attachment_name);
	-- every node forgets its shards, then the reference table goes
	IF relation_exists(a.state_shards_table) THEN
		EXECUTE format('DELETE FROM %s', a.state_shards_table);
		EXECUTE format('DROP TABLE %s', a.state_shards_table);
	END IF;
	-- the tags' triggers exist while the attachment has attribute rules
	FOR trigger_name IN
		SELECT t.tgname FROM pg_trigger t
		WHERE a.tags_table IS NOT NULL AND t.tgrelid = a.customers_table
		  AND t.tgname IN ('segment_' || a.attachment_name || '_tags', 'segment_' || a.attachment_name || '_tags_truncate')
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, a.customers_table);
	END LOOP;
	UPDATE attachments t
	SET state_table = NULL, cell_segments = NULL, thresholds = NULL, population_average_order_value = NULL,
		thresholds_as_of = NULL, tags_table = NULL, orders_partitions = NULL, orders_types = NULL,
		state_shards_table = NULL
	WHERE t.attachment_name = a.attachment_name;
	IF rebuild_views THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	-- by OID: the tables may have moved to another schema
	IF relation_exists(a.state_table) THEN
		EXECUTE format('DROP TABLE %s', a.state_table);
	END IF;
	IF relation_exists(a.tags_table) THEN
		EXECUTE format('DROP TABLE %s', a.tags_table);
	END IF;
END
$function$;
COMMENT ON FUNCTION @extschema@.stop_maintaining(text, boolean) IS
	'drops the triggers, the state table and the customer tags of an attachment; its views read the orders again';

CREATE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	result rfm_thresholds;
	average numeric;
	as_of timestamptz;
	population text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_attachment_thresholds.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_attachment_thresholds.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Thresholds are stored for maintained attachments: maintain_attachment().';
	END IF;
	-- writers wait until the customers are rescored against the new
	-- thresholds; the analysis time is read once the lock is granted
	PERFORM lock_state_tables(a.attachment_name);
	PERFORM rescore_state(a.attachment_name, only_expired => true);
	as_of := segment_as_of();
	-- the population is the customers view's: with a customers table, its
	-- rows that have orders (as the views of an unmaintained attachment
	-- score), not the customers whose orders it lacks.  A customer with
	-- orders after the analysis time counts with those at or before it,
	-- as the views count it.
	population := format('SELECT s.stats FROM (%s) s%s', state_stats_at_sql(a.attachment_name, '$1'),
						 CASE WHEN a.customers_table IS NULL THEN ''
							  ELSE format(' JOIN %s c ON c.%I = s.customer_id', a.customers_table, a.customer_key) END);
	-- on Citus the workers count key ranges in passes; the coordinator
	-- would otherwise receive a row per customer
	IF a.state_shards_table IS NOT NULL THEN
		result := rfm_thresholds_by_selection(population, as_of, ARRAY[a.bins, a.bins, a.bins]);
	END IF;
	EXECUTE format('SELECT %s, sum(total_amount(s.stats)) / sum(order_count(s.stats)) FROM (%s) s',
				   CASE WHEN result IS NULL THEN 'rfm_thresholds(s.stats, $1, $2)' ELSE '$3' END, population)
		INTO result, average USING as_of, a.bins, result;
	UPDATE attachments t
	SET thresholds = result, population_average_order_value = average, thresholds_as_of = as_of
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		-- row-level security hides other roles' attachments from updates
		RAISE EXCEPTION 'permission denied to refresh attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Its owner refreshes it.';
	END IF;
	PERFORM rescore_state(a.attachment_name, only_expired => false);
	-- published views hold the thresholds as constants
	IF a.pseudonym_secret_table IS NOT NULL THEN
		PERFORM build_attachment_views(a.attachment_name);
	END IF;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_attachment_thresholds(text) IS
	'computes the score thresholds of a maintained attachment from the state of the customers its customers view lists, at segment_as_of(), stores them and rescores every customer against them; writers of orders wait meanwhile';

-- The statistics of a customer of a maintained attachment as of an
-- analysis time before the customer's last order: those of the orders at
-- or before it, NULL if none.  Read through the orders table, which the
-- views of a maintained attachment otherwise do not read (so that they do
-- not hold its columns against ALTER TABLE).
CREATE FUNCTION segment_internal.state_stats_at(attachment_name text, customer anyelement, as_of timestamptz)
	RETURNS @extschema@.rfm_stats
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	order_time text;
	result rfm_stats;
BEGIN
	-- on a Citus node, where a query on the state's shards calls it: the
	-- node's row of the shard pair that holds the customer
	IF to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL THEN
		EXECUTE 'SELECT t.* FROM attachments t JOIN pg_catalog.pg_dist_shard d '
				'ON t.attachment_name OPERATOR(pg_catalog.=) ($1 OPERATOR(pg_catalog.||) ''/'' OPERATOR(pg_catalog.||) d.shardid) '
				'WHERE t.shard_of OPERATOR(pg_catalog.=) $1 AND pg_catalog.worker_hash($2) '
				'BETWEEN d.shardminvalue::integer AND d.shardmaxvalue::integer '
				'AND t.orders_table OPERATOR(pg_catalog.=) segment_internal.shard_relation(d.logicalrelid, d.shardid)'
			INTO a USING state_stats_at.attachment_name, customer;
	END IF;
	IF a.attachment_name IS NULL THEN
		SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_stats_at.attachment_name;
	END IF;
	IF a.attachment_name IS NULL THEN
		RAISE EXCEPTION 'attachment "%" does not exist', state_stats_at.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	order_time := order_time_sql(format('o.%I', a.order_time_column),
								 column_type(a.orders_table, a.order_time_column), a.time_zone);
	EXECUTE format('SELECT rfm_stats(%1$s, o.%2$I::numeric) FILTER (WHERE o.%3$I IS NOT NULL) FROM %4$s o '
				   'WHERE o.%5$I = $1 AND %1$s <= $2',
				   order_time, a.amount_column, a.order_time_column, a.orders_table, a.customer_column)
		INTO result USING customer, as_of;
	RETURN result;
END
$function$;
COMMENT ON FUNCTION segment_internal.state_stats_at(text, anyelement, timestamptz) IS
	'the statistics of a customer of a maintained attachment from the orders at or before as_of; for customers whose last order is later';

-- The SQL of (customer_id, stats) of a maintained attachment's customers as
-- of an analysis time (the SQL of a timestamptz): the stored statistics, or
-- for a customer whose last order is later, those of the orders at or
-- before it.  A customer without orders by then has no row.
CREATE FUNCTION segment_internal.state_stats_at_sql(attachment_name text, as_of_sql text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	ext text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = state_stats_at_sql.attachment_name;
	ext := extension_schema();
	RETURN format($sql$SELECT k.customer_id, k.stats FROM (
	SELECT s.customer_id,
		   CASE WHEN %1$s.last_order_time(s.stats) OPERATOR(pg_catalog.<=) %2$s THEN s.stats
				ELSE segment_internal.state_stats_at(%3$L, s.customer_id, %2$s) END AS stats
	FROM %4$s s) k WHERE k.stats IS NOT NULL$sql$,
		ext, as_of_sql, a.attachment_name, a.state_table);
END
$function$;
COMMENT ON FUNCTION segment_internal.state_stats_at_sql(text, text) IS
	'the SQL of the statistics of a maintained attachment''s customers at an analysis time: stored, or from the orders for customers with later orders';

-- Whether the current role may read the attachments table: the event
-- triggers fire for every role's DDL, and one that cannot has no
-- attachment to follow.
CREATE FUNCTION segment_internal.readable_attachments() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
			  AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
		  FROM pg_catalog.pg_extension e
			   JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace
										 AND c.relname OPERATOR(pg_catalog.=) 'attachments'
		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment' $$;
COMMENT ON FUNCTION segment_internal.readable_attachments() IS
	'whether the current role may read the attachments table, which the event triggers read';

-- Follows what ALTER TABLE and CREATE TABLE do to the orders tables of
-- maintained attachments: a partition attached, created or detached has
-- its customers derived again and gets a TRUNCATE trigger; a changed type
-- of the order time or amount derives every customer again; the customer
-- column's type may not change.
CREATE FUNCTION segment_internal.follow_orders_ddl_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	now_partitions regclass[];
	now_types regtype[];
	partition regclass;
	obstacle text;
BEGIN
	-- a role that cannot read the attachments has none
	IF NOT readable_attachments() THEN
		RETURN;
	END IF;
	-- stored tags would list customers the policies of the customers table hide
	FOR a IN
		SELECT t.* FROM attachments t JOIN pg_class c ON c.oid = t.customers_table
		WHERE t.tags_table IS NOT NULL AND c.relrowsecurity
		  AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() d
					  WHERE d.classid = 'pg_class'::regclass AND d.objid = t.customers_table)
	LOOP
		RAISE EXCEPTION 'attachment "%" stores the rule segments of the customers of %', a.attachment_name, a.customers_table
			USING ERRCODE = 'object_in_use',
				  DETAIL = 'Its tags table would list customers the row-level security of the table hides.',
				  HINT = format('Call stop_maintaining(%L) first; maintain_attachment(%L) then judges rules when read.',
								a.attachment_name, a.attachment_name);
	END LOOP;
	FOR a IN
		SELECT t.* FROM attachments t
		WHERE t.state_table IS NOT NULL
		  AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
					  WHERE c.classid = 'pg_class'::regclass
						AND (c.objid = t.orders_table
							 OR EXISTS (SELECT 1 FROM pg_partition_ancestors(c.objid::regclass) p
										WHERE p.relid = t.orders_table)))
		ORDER BY t.attachment_name
	LOOP
		IF column_type(a.orders_table, a.customer_column) IS DISTINCT FROM column_type(a.state_table, 'customer_id') THEN
			RAISE EXCEPTION 'column "%" of % is the customer key of maintained attachment "%"',
				a.customer_column, a.orders_table, a.attachment_name
				USING ERRCODE = 'object_in_use',
					  DETAIL = 'Its state table holds keys of the type it had.',
					  HINT = format('Call stop_maintaining(%L) first, and maintain_attachment(%L) after.',
									a.attachment_name, a.attachment_name);
		END IF;
		obstacle := state_obstacle(a.attachment_name);
		IF obstacle IS NOT NULL AND column_type(a.orders_table, a.order_time_column) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot maintain the state of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_in_use', DETAIL = obstacle,
					  HINT = format('Call stop_maintaining(%L) first.', a.attachment_name);
		END IF;
		now_partitions := orders_partitions(a.orders_table);
		now_types := ARRAY[column_type(a.orders_table, a.order_time_column),
						   column_type(a.orders_table, a.amount_column)];
		IF now_partitions IS NOT DISTINCT FROM a.orders_partitions AND now_types IS NOT DISTINCT FROM a.orders_types THEN
			CONTINUE;
		END IF;
		UPDATE attachments t SET orders_partitions = now_partitions, orders_types = now_types
		WHERE t.attachment_name = a.attachment_name;
		-- a column renamed away: writes fail until it is back
		CONTINUE WHEN now_types[1] IS NULL OR now_types[2] IS NULL;
		-- on Citus, each node derives its shards again as the change
		-- reaches them (the coordinator's comes first)
		CONTINUE WHEN a.state_shards_table IS NOT NULL;
		IF a.shard_of IS NOT NULL THEN
			PERFORM rebuild_state(a.attachment_name);
			CONTINUE;
		END IF;
		PERFORM install_state_triggers(a.attachment_name);
		IF now_types IS DISTINCT FROM a.orders_types
		   OR EXISTS (SELECT 1 FROM unnest(a.orders_partitions) p WHERE NOT relation_exists(p)) THEN
			PERFORM rebuild_state(a.attachment_name);
			CONTINUE;
		END IF;
		-- attached or created, and detached: their customers; a detached
		-- table keeps no trigger of the attachment
		FOR partition IN
			SELECT p FROM unnest(now_partitions) p WHERE p <> ALL (coalesce(a.orders_partitions, '{}'))
			UNION ALL
			SELECT p FROM unnest(a.orders_partitions) p WHERE p <> ALL (now_partitions)
		LOOP
			IF (SELECT c.relkind FROM pg_class c WHERE c.oid = partition) = 'r' THEN
				PERFORM state_derive_again(a.attachment_name, partition);
			END IF;
			IF partition <> ALL (now_partitions) THEN
				EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'segment_' || a.attachment_name || '_state_truncate',
							   partition);
			END IF;
		END LOOP;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_ddl_changes() IS
	'what follow_orders_ddl() does, for a role that may use the extension''s schema';

-- The event triggers fire for every role's DDL; a role that may not use
-- the extension's schema has no attachment, and must not meet its types.
CREATE FUNCTION segment_internal.follow_orders_ddl() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_ddl_changes();
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_ddl() IS
	'event trigger: keeps the maintained state of attachments right after ALTER TABLE or CREATE TABLE changes their orders tables';
CREATE EVENT TRIGGER segment_follow_orders_ddl ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
	EXECUTE FUNCTION segment_internal.follow_orders_ddl();
COMMENT ON EVENT TRIGGER segment_follow_orders_ddl IS
	'keeps the maintained state of attachments right after ALTER TABLE or CREATE TABLE changes their orders tables';

-- Follows DROP: an attachment whose orders table is dropped is detached; a
-- dropped partition of an orders table has every customer derived again.
CREATE FUNCTION segment_internal.follow_orders_drop_changes() RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	IF NOT readable_attachments() THEN
		RETURN;
	END IF;
	FOR a IN
		SELECT t.* FROM attachments t
		WHERE EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
					  WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0
						AND (d.objid = t.orders_table OR d.objid = ANY (t.orders_partitions)))
		ORDER BY t.attachment_name
	LOOP
		IF NOT relation_exists(a.orders_table) THEN
			PERFORM detach(a.attachment_name);
		ELSE
			PERFORM rebuild_state(a.attachment_name);
			UPDATE attachments t SET orders_partitions = orders_partitions(a.orders_table)
			WHERE t.attachment_name = a.attachment_name;
		END IF;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_drop_changes() IS
	'what follow_orders_drop() does, for a role that may use the extension''s schema';

CREATE FUNCTION segment_internal.follow_orders_drop() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
BEGIN
	IF coalesce((SELECT pg_catalog.has_schema_privilege(e.extnamespace, 'USAGE')
				 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment'), false) THEN
		PERFORM follow_orders_drop_changes();
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.follow_orders_drop() IS
	'event trigger: detaches attachments whose orders table is dropped and derives the state again when a partition is';
CREATE EVENT TRIGGER segment_follow_orders_drop ON sql_drop
	WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION segment_internal.follow_orders_drop();
COMMENT ON EVENT TRIGGER segment_follow_orders_drop IS
	'detaches attachments whose orders table is dropped and derives the state again when a partition is';
