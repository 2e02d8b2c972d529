-- segment 0.10.0 -> 0.11.0.  Every change to the install pieces in sql/*.sql
-- since 0.10.0 appears here too; test/t/upgrade.sh compares the result with
-- a fresh install of 0.11.0.
--
-- Maintained state on Citus (sql/citus.sql): the state of orders
-- distributed by customer is kept by every node on its own shards.
-- Its thresholds are found in passes that bring the coordinator counts of
-- key ranges (rfm_thresholds_by_selection).  Attachments of 0.10.0 are
-- unchanged.

\echo Use "ALTER EXTENSION segment UPDATE TO '0.11.0'" to load this file. \quit

ALTER TABLE @extschema@.attachments
	ADD COLUMN state_shards_table regclass,
	ADD COLUMN shard_of text,
	DROP CONSTRAINT attachment_name_is_plain,
	ADD CONSTRAINT attachment_name_is_plain CHECK (CASE WHEN shard_of IS NULL THEN attachment_name ~ '^[a-z][a-z0-9_]{0,29}$'
												   ELSE attachment_name ~ '^[a-z][a-z0-9_]{0,29}/[0-9]+$'
														AND pg_catalog.starts_with(attachment_name, shard_of || '/') END);
COMMENT ON COLUMN @extschema@.attachments.state_shards_table IS
	'on Citus, the reference table through which every node keeps the state of its shards (sql/citus.sql)';
COMMENT ON COLUMN @extschema@.attachments.shard_of IS
	'on a Citus node, the distributed attachment whose state this row keeps on one pair of co-located shards, named <attachment>/<shard id>';

CREATE OR REPLACE FUNCTION segment_internal.state_obstacle(attachment_name text) RETURNS text
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

CREATE OR REPLACE FUNCTION segment_internal.rescore_state(attachment_name text, only_expired boolean) RETURNS bigint
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

CREATE OR REPLACE FUNCTION segment_internal.install_state_triggers(attachment_name text) RETURNS void
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

CREATE OR REPLACE FUNCTION @extschema@.rebuild_state(attachment_name text) RETURNS bigint
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

CREATE OR REPLACE FUNCTION @extschema@.maintain_attachment(attachment_name text) RETURNS regclass
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

CREATE OR REPLACE FUNCTION segment_internal.drop_state_triggers(attachment_name text) RETURNS void
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

CREATE OR REPLACE FUNCTION @extschema@.stop_maintaining(attachment_name text, rebuild_views boolean DEFAULT true) RETURNS void
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

CREATE OR REPLACE FUNCTION segment_internal.state_stats_at(attachment_name text, customer anyelement, as_of timestamptz)
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

CREATE OR REPLACE FUNCTION segment_internal.follow_orders_ddl_changes() RETURNS void
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

CREATE OR REPLACE FUNCTION @extschema@.customer_tags_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key_number smallint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = customer_tags_obstacle.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', customer_tags_obstacle.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.customers_table IS NULL THEN
		RETURN format('Attachment "%s" has no customers table.', a.attachment_name);
	END IF;
	IF a.state_shards_table IS NOT NULL THEN
		RETURN format('The state of attachment "%s" is kept on the shards of Citus, where no trigger of the customers table writes tags.',
					  a.attachment_name);
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = a.customers_table) NOT IN ('r', 'p') THEN
		RETURN format('%s is not a table: only a table can have the trigger that tags customers.', a.customers_table);
	END IF;
	-- the tags would list customers the table's policies hide from readers
	IF (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = a.customers_table) THEN
		RETURN format('%s has row-level security enabled.', a.customers_table);
	END IF;
	SELECT att.attnum INTO key_number FROM pg_attribute att
	WHERE att.attrelid = a.customers_table AND att.attname = a.customer_key AND NOT att.attisdropped;
	-- one row per key at every moment, so that a key's tags are its row's
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.customers_table AND i.indisunique AND i.indimmediate
					 AND i.indnkeyatts = 1 AND i.indkey[0] = key_number AND i.indpred IS NULL) THEN
		RETURN format('%s has no primary key or unique constraint on %I alone, not deferrable.',
					  a.customers_table, a.customer_key);
	END IF;
	IF NOT (SELECT att.attnotnull FROM pg_attribute att
			WHERE att.attrelid = a.customers_table AND att.attnum = key_number) THEN
		RETURN format('Column %I of %s may be NULL.', a.customer_key, a.customers_table);
	END IF;
	-- the trigger is created, and the table locked while the tags are refilled
	IF NOT (has_table_privilege(a.customers_table, 'TRIGGER') AND has_table_privilege(a.customers_table, 'UPDATE')) THEN
		RETURN format('You lack the TRIGGER or UPDATE privilege on %s.', a.customers_table);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION @extschema@.customer_tags_obstacle(text) IS
	'why the customers table of an attachment cannot have stored tags (no primary key, not a table, row-level security, no TRIGGER or UPDATE privilege); NULL if it can';

CREATE OR REPLACE FUNCTION segment_internal.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	view_oid oid;
	kept record;
BEGIN
	-- an attachment whose orders table was dropped may still be cleaned up
	IF NOT coalesce(owns_relation(NEW.orders_table), TG_OP = 'UPDATE') THEN
		RAISE EXCEPTION 'must be owner of table % to attach it', NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.customers_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customers_table IS DISTINCT FROM OLD.customers_table)
	   AND NOT has_table_privilege(NEW.customers_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.customers_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.campaigns_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.campaigns_table IS DISTINCT FROM OLD.campaigns_table)
	   AND NOT has_table_privilege(NEW.campaigns_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.campaigns_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (TG_OP = 'INSERT' OR NEW.view_schema IS DISTINCT FROM OLD.view_schema)
	   AND NOT coalesce(has_schema_privilege(NEW.view_schema, 'CREATE'), false) THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- the tables an attachment keeps get dropped by whoever detaches: they
	-- must be the writer's own, in the attachment's schema (views below)
	FOR kept IN SELECT * FROM (VALUES ('state', NEW.state_table, OLD.state_table),
									  ('history', NEW.history_table, OLD.history_table),
									  ('tags', NEW.tags_table, OLD.tags_table),
									  ('pseudonym secret', NEW.pseudonym_secret_table, OLD.pseudonym_secret_table),
									  ('state shards', NEW.state_shards_table, OLD.state_shards_table))
						  AS k(kind, new_table, old_table)
	LOOP
		IF kept.new_table IS NOT NULL AND (TG_OP = 'INSERT' OR kept.new_table IS DISTINCT FROM kept.old_table)
		   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = kept.new_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
			RAISE EXCEPTION '% table % of attachment "%" must be a table of yours in schema %',
				kept.kind, kept.new_table, NEW.attachment_name, NEW.view_schema
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END LOOP;
	-- the event triggers act on what the row lists as partitions
	IF (TG_OP = 'INSERT' OR NEW.orders_partitions IS DISTINCT FROM OLD.orders_partitions)
	   AND EXISTS (SELECT 1 FROM unnest(NEW.orders_partitions) p
				   WHERE p NOT IN (SELECT t.relid FROM pg_partition_tree(NEW.orders_table) t)) THEN
		RAISE EXCEPTION 'the partitions of attachment "%" must be partitions of %', NEW.attachment_name, NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF TG_OP = 'INSERT' OR NEW.views IS DISTINCT FROM OLD.views THEN
		FOR i IN 1 .. coalesce(array_upper(NEW.views, 1), 0) LOOP
			-- a name and nothing else: any other syntax names no view
			-- (to_regclass raises on it before PostgreSQL 16)
			BEGIN
				view_oid := to_regclass(NEW.views[i]);
			EXCEPTION WHEN invalid_name THEN
				view_oid := NULL;
			END;
			IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = view_oid AND c.relkind = 'v' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
				RAISE EXCEPTION 'view % of attachment "%" must be a view of yours in schema %',
					NEW.views[i], NEW.attachment_name, NEW.view_schema
					USING ERRCODE = 'insufficient_privilege';
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END
$function$;
COMMENT ON FUNCTION segment_internal.attachments_check() IS
	'trigger of attachments: the writer owns the orders table, reads the customers and campaign events tables, and owns the views, state, tags, history, pseudonym secret and state shards tables the row names';

CREATE OR REPLACE FUNCTION @extschema@.keep_segment_history(attachment_name text, retention interval DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.refresh_attachment_thresholds(attachment_name text) RETURNS @extschema@.rfm_thresholds
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

CREATE OR REPLACE FUNCTION segment_internal.history_statements(attachment_name text, key_type regtype)
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

-- Thresholds found in passes (src/threshold_selection.c): for populations
-- spread over Citus workers, which then send counts of key ranges instead of
-- a row per customer.
CREATE FUNCTION segment_internal.rfm_value_keys(stats @extschema@.rfm_stats, as_of timestamptz) RETURNS bigint[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_value_keys(@extschema@.rfm_stats, timestamptz) IS
	'a customer''s recency, frequency and monetary value as bigint keys that order as the values do';
CREATE FUNCTION segment_internal.key_prefix_shift(low bigint, high bigint) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.key_prefix_shift(bigint, bigint) IS
	'how many trailing bits to drop for two keys to share their leading bits (0 when equal)';
CREATE FUNCTION segment_internal.percentile_rows(population bigint, bins integer[], dimension integer) RETURNS bigint[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.percentile_rows(bigint, integer[], integer) IS
	'the rows (0-based, in value order) the thresholds of a dimension (1 recency, 2 frequency, 3 monetary) read';
CREATE FUNCTION segment_internal.percentile_thresholds_from_keys(population bigint, bins integer[], dimension integer,
																 rows bigint[], keys bigint[])
	RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.percentile_thresholds_from_keys(bigint, integer[], integer, bigint[], bigint[]) IS
	'the thresholds of a dimension from the keys at the rows percentile_rows() lists';

-- rfm_thresholds(stats, as_of, bins[1], bins[2], bins[3]) over the rows of a
-- query with a column "stats" (its names schema-qualified), exactly, in
-- passes over the query.  Each pass counts the customers' keys in each key
-- range that holds a row the thresholds read, by their next leading bits
-- (16 in the first pass, 12 after); a range of at most 4,096 customers is
-- counted by whole key, which ends the search there.  So after the first
-- pass (at most 65,536 counts per dimension, a few hundred for values of
-- a few orders of magnitude) each returns at most 4,096 counts per range,
-- whatever the number of customers.  NULL for an empty population or a
-- NULL as_of, and also when the population changed between passes (a
-- concurrent write; every pass checks the population's size and a sum of
-- hashes of its keys): the caller then aggregates in one pass.
CREATE FUNCTION segment_internal.rfm_thresholds_by_selection(population text, as_of timestamptz, bins integer[])
	RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	customers bigint;
	-- what is searched for: per dimension, the rows the thresholds read,
	-- each with its key range (key >> shift = prefix; shift 64 is every
	-- key), the customers in that range and its rank there
	t_dimension integer[];
	t_row bigint[];
	t_shift integer[];
	t_prefix bigint[];
	t_customers bigint[];
	t_rank bigint[];
	-- one pass's ranges: the targets' distinct ranges and the shift of
	-- the digits they are counted by
	r_dimension integer[];
	r_shift integer[];
	r_prefix bigint[];
	r_customers bigint[];
	r_next integer[];
	-- one pass's counts: range (1-based), digit, customers, their
	-- lowest and highest key
	c_range integer[];
	c_digit bigint[];
	c_customers bigint[];
	c_low bigint[];
	c_high bigint[];
	-- the population's size and sum of hashes, in the first pass and in this
	fingerprint numeric[];
	pass_fingerprint numeric[];
	pass integer := 0;
	dimension_thresholds double precision[];
	recency double precision[];
	frequency double precision[];
	monetary double precision[];
BEGIN
	IF bins IS NULL THEN
		RAISE EXCEPTION 'the number of bins must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM percentile_rows(1, bins, 1);		-- checks the bins
	IF as_of IS NULL THEN
		RETURN NULL;			-- as the aggregate, which leaves every row out
	END IF;
	-- the first pass counts every key of each dimension by its leading 16
	-- bits, and so also the customers
	t_dimension := ARRAY[1, 2, 3];
	t_shift := ARRAY[64, 64, 64];
	t_prefix := ARRAY[0, 0, 0];
	t_customers := ARRAY[NULL, NULL, NULL];
	LOOP
		SELECT array_agg(d ORDER BY d, s, p), array_agg(s ORDER BY d, s, p), array_agg(p ORDER BY d, s, p),
			   array_agg(n ORDER BY d, s, p),
			   array_agg(CASE WHEN s = 64 THEN 48 WHEN n <= 4096 THEN 0 ELSE greatest(s - 12, 0) END ORDER BY d, s, p)
		INTO r_dimension, r_shift, r_prefix, r_customers, r_next
		FROM (SELECT DISTINCT d, s, p, n
			  FROM unnest(t_dimension, t_shift, t_prefix, t_customers) t(d, s, p, n)
			  WHERE s > 0) r;
		EXIT WHEN r_dimension IS NULL;

		-- the ranges, and a last one of every customer (dimension 0) for the
		-- population's fingerprint: its size and a sum of hashes of the
		-- customers' keys
		EXECUTE format(
			'SELECT array_agg(i ORDER BY i, digit) FILTER (WHERE d > 0), array_agg(digit ORDER BY i, digit) FILTER (WHERE d > 0),
					array_agg(n ORDER BY i, digit) FILTER (WHERE d > 0), array_agg(low ORDER BY i, digit) FILTER (WHERE d > 0),
					array_agg(high ORDER BY i, digit) FILTER (WHERE d > 0),
					ARRAY[sum(n) FILTER (WHERE d = 0), sum(f) FILTER (WHERE d = 0)]
			 FROM (SELECT r.i, r.d, v.k[r.d] >> r.next AS digit, count(*) AS n, min(v.k[r.d]) AS low, max(v.k[r.d]) AS high,
						  sum(CASE WHEN r.d = 0 THEN hash_array_extended(v.k, 0) END) AS f
				   FROM (SELECT rfm_value_keys(p.stats, $1) AS k FROM (%s) p WHERE p.stats IS NOT NULL) v
				   JOIN unnest($2::integer[] || 0, $3::integer[] || 64, $4::bigint[] || 0::bigint, $5::integer[] || 0)
						WITH ORDINALITY AS r(d, s, p, next, i)
					 ON r.s = 64 OR v.k[r.d] >> least(r.s, 63) = r.p
				   GROUP BY 1, 2, 3) c', population)
			INTO c_range, c_digit, c_customers, c_low, c_high, pass_fingerprint
			USING as_of, r_dimension, r_shift, r_prefix, r_next;
		pass := pass + 1;
		RAISE DEBUG 'rfm_thresholds_by_selection: pass %, % key ranges, % counts back',
			pass, array_length(r_dimension, 1), coalesce(array_length(c_range, 1), 0);

		-- the population must be the first pass's, and every range must hold
		-- the customers the previous pass counted in it
		fingerprint := coalesce(fingerprint, pass_fingerprint);
		IF pass_fingerprint IS DISTINCT FROM fingerprint
		   OR EXISTS (SELECT FROM unnest(r_customers) WITH ORDINALITY r(n, i)
					  WHERE r.n IS NOT NULL
						AND r.n IS DISTINCT FROM (SELECT sum(c.n) FROM unnest(c_range, c_customers) c(i, n) WHERE c.i = r.i)) THEN
			RETURN NULL;
		END IF;
		IF customers IS NULL THEN
			customers := fingerprint[1];
			IF customers IS NULL THEN
				RETURN NULL;
			END IF;
			-- the targets: each dimension's rows, for now in its whole range
			SELECT array_agg(d ORDER BY d, pos), array_agg(pos ORDER BY d, pos), array_agg(64 ORDER BY d, pos),
				   array_agg(0::bigint ORDER BY d, pos), array_agg(NULL::bigint ORDER BY d, pos),
				   array_agg(pos ORDER BY d, pos)
			INTO t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank
			FROM generate_series(1, 3) d, unnest(percentile_rows(customers, bins, d)) pos;
			IF t_dimension IS NULL THEN
				EXIT;		-- one bin everywhere: no thresholds
			END IF;
		END IF;

		-- each target moves to the digit of its range that holds its rank,
		-- narrowed to the leading bits its lowest and highest key share: a
		-- digit of one key ends the search there (shift 0)
		SELECT array_agg(t.d ORDER BY t.o), array_agg(t.pos ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN x.shift ELSE 0 END ORDER BY t.o),
			   array_agg(CASE WHEN t.s = 0 THEN t.p WHEN x.shift = 64 THEN 0 ELSE x.low >> x.shift END ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN x.n ELSE t.n END ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN t.rank - x.before ELSE t.rank END ORDER BY t.o)
		INTO t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank
		FROM unnest(t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank) WITH ORDINALITY t(d, pos, s, p, n, rank, o)
		LEFT JOIN LATERAL (
			SELECT c.n, c.before, c.low, key_prefix_shift(c.low, c.high) AS shift
			FROM (SELECT c.digit, c.n, c.low, c.high, sum(c.n) OVER (ORDER BY c.digit) - c.n AS before
				  FROM unnest(c_range, c_digit, c_customers, c_low, c_high) c(i, digit, n, low, high)
				  WHERE c.i = (SELECT r.i FROM unnest(r_dimension, r_shift, r_prefix) WITH ORDINALITY r(d, s, p, i)
							   WHERE (r.d, r.s, r.p) = (t.d, t.s, t.p))) c
			WHERE c.before <= t.rank AND t.rank < c.before + c.n) x ON t.s > 0;
	END LOOP;

	FOR dimension IN 1..3 LOOP
		dimension_thresholds := (SELECT percentile_thresholds_from_keys(customers, bins, dimension,
														 coalesce(array_agg(t.pos ORDER BY t.pos), '{}'),
														 coalesce(array_agg(t.p ORDER BY t.pos), '{}'))
				  FROM unnest(t_dimension, t_row, t_prefix) t(d, pos, p) WHERE t.d = dimension);
		CASE dimension
			WHEN 1 THEN recency := dimension_thresholds;
			WHEN 2 THEN frequency := dimension_thresholds;
			ELSE monetary := dimension_thresholds;
		END CASE;
	END LOOP;
	RETURN make_rfm_thresholds(recency, frequency, monetary);
END
$function$;
COMMENT ON FUNCTION segment_internal.rfm_thresholds_by_selection(text, timestamptz, integer[]) IS
	'rfm_thresholds over a query''s column "stats", found in passes that return counts of key ranges, not a row per customer; NULL for an empty or changing population';


-- maintained state on Citus: the state of orders distributed by customer,
-- kept on the nodes that hold them
--
-- The state table is distributed beside the orders (co-located: a
-- customer's orders and state row in shards on one node).  Citus clones
-- the row trigger of the orders to every shard, where it fires on the
-- worker with the distributed attachment's name; each node keeps one row of
-- its own in attachments per pair of co-located shards it holds, named
-- <attachment>/<shard id>, which the trigger finds by its table
-- (src/state_trigger.c), and the fold at commit writes the node's state
-- shard from its orders shard with the statements of any attachment: it
-- reads and writes local tables only, inside the node's part of the
-- distributed transaction.
--
-- Those rows are kept by a trigger on a reference table, <attachment>
-- _state_shards, which Citus writes on every node in the writer's
-- transaction: the coordinator copies the configuration the state is
-- written with (thresholds, the segments of the score cells, lifecycle
-- limits) into its one row, and asks there for the state to be derived
-- again, or scored again, which every node then does on its own shards.

-- Whether Citus distributes a table by hash of the column, and why its
-- state cannot be kept on the shards otherwise; NULL if it can.
CREATE FUNCTION segment_internal.citus_state_obstacle(orders regclass, customer_column name) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	method "char";
	key_column name;
	workers_without_metadata bigint;
BEGIN
	EXECUTE 'SELECT p.partmethod, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) '
			'FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1'
		INTO method, key_column USING orders;
	IF method IS DISTINCT FROM 'h' OR key_column IS DISTINCT FROM customer_column THEN
		RETURN format('%s is not distributed by its customer column %I: the state is kept beside a customer''s orders, on the shard that holds them.',
					  orders, customer_column);
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = orders) = 'p' THEN
		RETURN format('%s is a partitioned distributed table: the state is kept on the shards of plain distributed tables.', orders);
	END IF;
	-- a coordinator's client sessions do not see its shards, which the
	-- state would be written from
	EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement p USING (shardid) '
			'WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1 AND p.groupid OPERATOR(pg_catalog.=) 0'
		INTO workers_without_metadata USING orders;
	IF workers_without_metadata > 0 THEN
		RETURN format('The coordinator holds shards of %s: the state is kept on the workers'' shards.', orders);
	END IF;
	-- the trigger on a worker's shard finds the shards through the metadata
	EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_node n WHERE n.isactive AND n.noderole OPERATOR(pg_catalog.=) ''primary'' '
			'AND n.groupid OPERATOR(pg_catalog.<>) 0 AND NOT n.hasmetadata'
		INTO workers_without_metadata;
	IF workers_without_metadata > 0 THEN
		RETURN format('%s worker nodes of Citus have no metadata: the nodes keep the state of their shards by it.',
					  workers_without_metadata);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION segment_internal.citus_state_obstacle(regclass, name) IS
	'why the state of a Citus distributed orders table cannot be kept on its shards (not hash-distributed by the customer, partitioned, workers without metadata); NULL if it can';

-- The relation of a shard, if this node has it.  shard_name() leaves out
-- the schema public.
CREATE FUNCTION segment_internal.shard_relation(distributed regclass, shard_id bigint) RETURNS regclass
	LANGUAGE plpgsql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	name text;
BEGIN
	EXECUTE 'SELECT pg_catalog.shard_name($1, $2)' INTO name USING distributed, shard_id;
	RETURN coalesce(to_regclass(name), to_regclass('public.' || name));
END
$function$;
COMMENT ON FUNCTION segment_internal.shard_relation(regclass, bigint) IS
	'the relation of a shard of a Citus table on this node; NULL if it has none';

-- The pairs of co-located shards of the orders and the state that this
-- node holds; none without Citus.
CREATE FUNCTION segment_internal.local_shard_pairs(orders regclass, state regclass)
	RETURNS TABLE (shard_id bigint, orders_shard regclass, state_shard regclass)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	IF to_regclass('pg_catalog.pg_dist_shard') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT p.shard_id, p.orders_shard, p.state_shard FROM (
			SELECT o.shardid AS shard_id, segment_internal.shard_relation($1, o.shardid) AS orders_shard,
				   segment_internal.shard_relation($2, s.shardid) AS state_shard
			FROM pg_catalog.pg_dist_shard o
			JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid OPERATOR(pg_catalog.=) $2
				 AND s.shardminvalue OPERATOR(pg_catalog.=) o.shardminvalue
			WHERE o.logicalrelid OPERATOR(pg_catalog.=) $1
			  AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement l
						  WHERE l.shardid OPERATOR(pg_catalog.=) o.shardid
							AND l.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g))
		) p WHERE p.orders_shard IS NOT NULL AND p.state_shard IS NOT NULL
		ORDER BY p.shard_id'
		USING orders, state;
END
$function$;
COMMENT ON FUNCTION segment_internal.local_shard_pairs(regclass, regclass) IS
	'the co-located shards of a distributed orders table and its state table that this Citus node holds';

-- Trigger of the <attachment>_state_shards reference table, on every
-- node's placement: keeps the node's rows for the shard pairs it holds
-- (names <attachment>/<shard id>) as the row says, and does what it asks
-- on each of them.
CREATE FUNCTION segment_internal.keep_state_shards() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	pair record;
	shard_attachment text;
	truncate_trigger text;
	gone regclass;
BEGIN
	truncate_trigger := 'segment_' || coalesce(NEW.attachment_name, OLD.attachment_name) || '_state_truncate';
	IF TG_OP = 'DELETE' THEN
		FOR gone IN DELETE FROM attachments t WHERE t.shard_of = OLD.attachment_name RETURNING t.orders_table LOOP
			IF relation_exists(gone) THEN
				EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', truncate_trigger, gone);
			END IF;
		END LOOP;
		RETURN OLD;
	END IF;
	-- shards this node no longer holds
	DELETE FROM attachments t
	WHERE t.shard_of = NEW.attachment_name
	  AND t.orders_table NOT IN (SELECT p.orders_shard FROM local_shard_pairs(NEW.orders_table, NEW.state_table) p);
	FOR pair IN SELECT * FROM local_shard_pairs(NEW.orders_table, NEW.state_table) LOOP
		shard_attachment := NEW.attachment_name || '/' || pair.shard_id;
		INSERT INTO attachments AS t
			(attachment_name, shard_of, orders_table, state_table, customer_column, order_time_column, amount_column,
			 view_schema, map_name, bins, time_zone, orders_partitions, orders_types, thresholds, cell_segments,
			 lifecycle_limits)
		SELECT shard_attachment, NEW.attachment_name, pair.orders_shard, pair.state_shard, NEW.customer_column,
			   NEW.order_time_column, NEW.amount_column, n.nspname, 'default', NEW.bins, NEW.time_zone, '{}',
			   NEW.orders_types, NEW.thresholds, NEW.cell_segments, NEW.lifecycle_limits
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pair.state_shard
		ON CONFLICT (attachment_name) DO UPDATE
		SET (orders_table, state_table, customer_column, order_time_column, amount_column, view_schema, bins,
			 time_zone, orders_types, thresholds, cell_segments, lifecycle_limits) =
			(excluded.orders_table, excluded.state_table, excluded.customer_column, excluded.order_time_column,
			 excluded.amount_column, excluded.view_schema, excluded.bins, excluded.time_zone, excluded.orders_types,
			 excluded.thresholds, excluded.cell_segments, excluded.lifecycle_limits);
		-- Citus truncates the shards over the connections that wrote them,
		-- in the backends that hold their events
		IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = pair.orders_shard AND t.tgname = truncate_trigger) THEN
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
						   truncate_trigger, pair.orders_shard, NEW.attachment_name);
		END IF;
		IF NEW.request IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.request_number IS DISTINCT FROM OLD.request_number) THEN
			IF NEW.request = 'refill' THEN
				PERFORM rebuild_state(shard_attachment);
			ELSE
				PERFORM lock_state_tables(shard_attachment);
				PERFORM rescore_state(shard_attachment, only_expired => NEW.request = 'rescore_expired');
			END IF;
		END IF;
	END LOOP;
	RETURN NEW;
END
$function$;
COMMENT ON FUNCTION segment_internal.keep_state_shards() IS
	'trigger of a state shards reference table on every Citus node: keeps the node''s attachment rows of the shard pairs it holds as the row says, and derives or scores their state again when the row asks';

-- Runs a function of Citus with a setting of Citus changed meanwhile.
CREATE FUNCTION segment_internal.with_citus_setting(setting text, value text, statement text) RETURNS void
	LANGUAGE plpgsql
	-- the path of its callers, whose names the statement holds
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	saved text := current_setting(setting);
BEGIN
	PERFORM set_config(setting, value, true);
	EXECUTE statement;
	PERFORM set_config(setting, saved, true);
END
$function$;
COMMENT ON FUNCTION segment_internal.with_citus_setting(text, text, text) IS
	'runs a statement with a setting changed for its duration (citus.enable_unsafe_triggers, citus.multi_shard_modify_mode)';

-- The state table of an attachment of distributed orders: distributed
-- beside them, and the reference table that has every node keep the state
-- of its shards.  In the transaction of maintain_attachment().
CREATE FUNCTION segment_internal.distribute_state(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	shards text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = distribute_state.attachment_name;
	shards := format('%I.%I', a.view_schema, a.attachment_name || '_state_shards');
	-- one connection per node, in this transaction: the nodes' triggers on
	-- the reference table then see the state's shards made before them
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	EXECUTE format('SELECT pg_catalog.create_distributed_table(%L, %L, colocate_with => %L)',
				   a.state_table, 'customer_id', a.orders_table);
	EXECUTE format('CREATE TABLE %s (attachment_name text PRIMARY KEY, orders_table regclass NOT NULL, '
				   'state_table regclass NOT NULL, customer_column name NOT NULL, order_time_column name NOT NULL, '
				   'amount_column name NOT NULL, bins integer NOT NULL, time_zone text NOT NULL, orders_types regtype[], '
				   'thresholds %2$s.rfm_thresholds, cell_segments %2$s.segment_set[], lifecycle_limits double precision[], '
				   'request text CHECK (request IN (''refill'', ''rescore'', ''rescore_expired'')), '
				   'request_number bigint NOT NULL DEFAULT 0)', shards, extension_schema());
	PERFORM comment_relation(shards,
		format('how every Citus node keeps the state of its shards of %s (segment attachment %s): a copy of what the state is written with, and the last request', a.orders_table, a.attachment_name),
		'attachment_name', 'the attachment, as the coordinator names it',
		'orders_table', 'the distributed orders table',
		'state_table', 'the distributed state table, co-located with the orders',
		'customer_column', 'customer key column of the orders',
		'order_time_column', 'order time column of the orders',
		'amount_column', 'amount column of the orders',
		'bins', 'score bins per dimension',
		'time_zone', 'time zone of order times without one',
		'orders_types', 'types of the order time and amount columns',
		'thresholds', 'the stored thresholds the state is scored against',
		'cell_segments', 'the RFM segments of every score cell',
		'lifecycle_limits', 'the lifecycle limits, NULL for the defaults',
		'request', 'refill (derive again from the orders), rescore or rescore_expired: done on every shard when request_number grows',
		'request_number', 'how many requests were made');
	EXECUTE format('SELECT pg_catalog.create_reference_table(%L)', shards);
	PERFORM with_citus_setting('citus.enable_unsafe_triggers', 'on',
		format('CREATE TRIGGER keep_state_shards AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
			   'EXECUTE FUNCTION segment_internal.keep_state_shards()', shards));
	UPDATE attachments t SET state_shards_table = shards::regclass WHERE t.attachment_name = a.attachment_name;
	EXECUTE format('INSERT INTO %s (attachment_name, orders_table, state_table, customer_column, order_time_column, '
				   'amount_column, bins, time_zone, orders_types) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', shards)
		USING a.attachment_name, a.orders_table, a.state_table, a.customer_column, a.order_time_column,
			  a.amount_column, a.bins, a.time_zone, a.orders_types;
END
$function$;
COMMENT ON FUNCTION segment_internal.distribute_state(text) IS
	'distributes the new state table of an attachment of Citus distributed orders beside them, and creates the reference table through which every node keeps the state of its shards';

-- Copies what the state of a distributed attachment is written with to
-- every node, and has each do a statement of state_statements() on its
-- shards: refill, rescore or rescore_expired (NULL: none).
CREATE FUNCTION segment_internal.request_state_shards(attachment_name text, request text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	requested bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = request_state_shards.attachment_name;
	-- over the connections that wrote the shards in this transaction, if any
	PERFORM with_citus_setting('citus.multi_shard_modify_mode', 'sequential', format(
		'UPDATE %s s SET (orders_table, state_table, customer_column, order_time_column, amount_column, bins, '
		'time_zone, orders_types, thresholds, cell_segments, lifecycle_limits, request, request_number) = '
		'(%L, %L, %L, %L, %L, %s, %L, %L, %L, %L, %L, %L, s.request_number + 1) WHERE s.attachment_name = %L',
		a.state_shards_table, a.orders_table, a.state_table, a.customer_column, a.order_time_column, a.amount_column,
		a.bins, a.time_zone, a.orders_types, a.thresholds, a.cell_segments, a.lifecycle_limits, request,
		a.attachment_name));
	EXECUTE format('SELECT s.request_number FROM %s s WHERE s.attachment_name = %L AND s.request IS NOT DISTINCT FROM %L',
				   a.state_shards_table, a.attachment_name, request)
		INTO requested;
	IF requested IS NULL THEN
		RAISE EXCEPTION 'the state shards of attachment "%" are gone', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = format('%s has no row for it: the nodes no longer keep their shards'' state as told.',
								  a.state_shards_table),
				  HINT = format('Call stop_maintaining(%L) and maintain_attachment(%L).', a.attachment_name, a.attachment_name);
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.request_state_shards(text, text) IS
	'copies the thresholds, cell segments and lifecycle limits of a distributed attachment to every Citus node, and has each refill or rescore the state of its shards';
